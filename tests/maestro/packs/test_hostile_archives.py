"""Reading an archive handed to ``maestro pack verify`` is safe: hostile members are refused
by name, sizes are bounded, and nothing is ever written (the reader extracts nothing)."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from maestro.pack_archive import reader
from maestro.pack_archive.verify import verify

KEY = Ed25519PrivateKey.generate().public_key()


def _archive(path: Path, *infos: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for info, data in infos:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, b""


HOSTILE = {
    "absolute path": (_file("/tmp/evil.txt"), "/tmp/evil.txt: refused"),
    "dot-dot": (_file("artifacts/../../evil.txt"), "artifacts/../../evil.txt: refused"),
    "symlink": (_special("manifest.json", tarfile.SYMTYPE, "/etc/passwd"), "manifest.json: refused"),
    "symlink inside": (_special("link", tarfile.SYMTYPE, "manifest.json"), "link: refused (a link to"),
    "hardlink": (_special("hard", tarfile.LNKTYPE, "/etc/passwd"), "hard: refused"),
    "device": (_special("dev/sda", tarfile.BLKTYPE), "dev/sda: refused"),
    "char device": (_special("tty", tarfile.CHRTYPE), "tty: refused"),
    "fifo": (_special("pipe", tarfile.FIFOTYPE), "pipe: refused"),
    "dot segment": (_file("artifacts/./x"), "artifacts/./x: refused (not a plain relative path)"),
}


@pytest.mark.parametrize(("member", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_members_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member: tuple[tarfile.TarInfo, bytes], message: str
) -> None:
    path = _archive(tmp_path / "hostile.tar.gz", _file("manifest.json", b"{}"), member)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    verdict = verify(path, [KEY])
    assert not verdict.ok
    (problem,) = verdict.problems
    assert problem.startswith("archive refused: ")
    assert message in problem
    assert os.listdir(work) == []
    assert not Path("/tmp/evil.txt").exists()


LIMITS = reader.Limits(member=1 << 20, total=4 << 20, members=10, document=64 << 10)


def test_a_member_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _archive(tmp_path / "big.tar.gz", _file("artifacts/a/big", b"\0" * (2 << 20)))
    with pytest.raises(reader.ArchiveRefused, match=r"artifacts/a/big: 2097152 bytes, more than"):
        reader.read(path, set(), LIMITS)


def test_a_gzip_bomb_stops_at_the_total_limit(tmp_path: Path) -> None:
    many = [_file(f"artifacts/a/{i}", b"\0" * (1 << 20)) for i in range(8)]
    path = _archive(tmp_path / "bomb.tar.gz", *many)
    assert path.stat().st_size < 100_000  # 8 MiB of zeros compress to almost nothing
    with pytest.raises(reader.ArchiveRefused, match="more than the size limit"):
        reader.read(path, set(), reader.Limits(member=1 << 20, total=4 << 20, members=100, document=1))


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    path = _archive(tmp_path / "many.tar.gz", *[_file(f"f{i}") for i in range(11)])
    with pytest.raises(reader.ArchiveRefused, match="more than 10 members"):
        reader.read(path, set(), LIMITS)


def test_an_oversized_document_is_refused(tmp_path: Path) -> None:
    path = _archive(tmp_path / "doc.tar.gz", _file("manifest.json", b" " * (65 << 10)))
    with pytest.raises(
        reader.ArchiveRefused, match=r"manifest.json: 66560 bytes, more than 65536 for a document"
    ):
        reader.read(path, {"manifest.json"}, LIMITS)


def test_a_huge_extended_header_is_refused_before_it_is_read(tmp_path: Path) -> None:
    info, data = _file("manifest.json")
    info.pax_headers = {"comment": "x" * (200 << 10)}
    path = _archive(tmp_path / "pax.tar.gz", (info, data))
    with pytest.raises(reader.ArchiveRefused, match="an extended header of"):
        reader.read(path, set(), LIMITS)


def test_a_duplicate_member_is_refused(tmp_path: Path) -> None:
    path = _archive(tmp_path / "dup.tar.gz", _file("manifest.json"), _file("manifest.json"))
    with pytest.raises(reader.ArchiveRefused, match=r"manifest\.json: appears twice"):
        reader.read(path, set(), LIMITS)


@pytest.mark.parametrize("content", [b"", b"not gzip at all", gzip.compress(b"not a tar" * 100)])
def test_what_is_no_tar_gz_fails_verification(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(content)
    verdict = verify(path, [KEY])
    assert not verdict.ok
    assert verdict.problems[0].startswith("archive refused: ")
