"""Hostile input: each case ends with valid=false (or a skipped member), fast,
never an exception, and never a read of anything the input points at."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from maestro.evidence import archive
from maestro.evidence.model import Evidence, ParseOptions
from maestro.evidence.registry import parse_evidence
from tests.maestro.evidence import builders

OPTS = ParseOptions()


def _parse(data: bytes) -> Evidence:
    started = time.perf_counter()
    evidence = parse_evidence(data, OPTS).evidence
    assert time.perf_counter() - started < 5
    return evidence


def _invalid(data: bytes) -> Evidence:
    evidence = _parse(data)
    assert not evidence.valid
    assert evidence.errors
    return evidence


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuites><testsuite name="&lol4;"/></testsuites>"""


def test_billion_laughs_refused() -> None:
    evidence = _invalid(BILLION_LAUGHS)
    assert evidence.format == "junit-xml"
    assert "DOCTYPE" in evidence.errors[0].message


def test_external_entity_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    before = os.stat(secret).st_atime_ns
    data = f"""<?xml version="1.0"?>
<!DOCTYPE bom [<!ENTITY xxe SYSTEM "file://{secret}">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><components><component type="library">
<name>&xxe;</name></component></components></bom>""".encode()
    evidence = _invalid(data)
    assert evidence.format == "cyclonedx-xml"
    assert "DOCTYPE" in evidence.errors[0].message
    assert "TOPSECRET" not in evidence.model_dump_json()
    assert os.stat(secret).st_atime_ns == before


def test_doctype_refused_in_utf16_and_after_comments() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!-- hi -->\n<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd">\n<x/>'
    evidence = _invalid(text.encode("utf-16"))
    assert "DOCTYPE" in evidence.errors[0].message
    assert evidence.errors[0].location == "line 3"


def test_deep_json_nesting() -> None:
    _invalid(b"[" * 100_000 + b"]" * 100_000)
    _invalid(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)


def test_deep_xml_nesting() -> None:
    _invalid(b"<a>" * 100_000 + b"</a>" * 100_000)


def test_huge_numbers() -> None:
    _invalid(b'{"bomFormat": "CycloneDX", "version": 1' + b"0" * 100_000 + b"}")
    _invalid(b'{"x": 1e999999}')


def test_duplicate_keys_are_refused_under_strict() -> None:
    """Unsigned documents with duplicate keys are refused under strict and warned about
    otherwise (test_duplicate_keys); signed payloads always are refused (test_dsse_signing)."""
    doc = builders.dumps(builders.cyclonedx(1))
    twice = b'{"bomFormat": "Evil", ' + doc[1:]
    evidence = parse_evidence(twice, ParseOptions(strict=True)).evidence
    assert not evidence.valid
    assert "duplicate key 'bomFormat'" in evidence.errors[0].message
    lenient = parse_evidence(twice, ParseOptions()).evidence
    assert lenient.format == "cyclonedx-json"  # last key wins, with a warning
    assert [w.location for w in lenient.warnings] == ["/bomFormat"]


def test_truncated_and_random() -> None:
    doc = builders.dumps(builders.cyclonedx(5))
    _invalid(doc[: len(doc) // 2])
    _invalid(builders.cyclonedx_xml()[:300])
    _invalid(builders.zip_of({"a.json": doc})[:-30])
    _invalid(builders.tar_of([("a.json", doc)], "w:gz")[:200])
    for seed in range(20):
        _parse(os.urandom(512 + seed))


def test_zip_bomb_member_skipped() -> None:
    bomb = builders.zip_of(
        {"zeros.json": b"\x00" * (64 * 1024 * 1024), "sbom.json": builders.dumps(builders.cyclonedx(1))}
    )
    assert len(bomb) < 200_000
    evidence = _parse(bomb)
    skipped = {m.path: m.skipped for m in evidence.members if m.skipped}
    assert "compression ratio" in (skipped["zeros.json"] or "")
    assert any(m.evidence and m.evidence.format == "cyclonedx-json" for m in evidence.members)


def test_gzip_bomb_stops_at_ratio() -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as stream:
        for _ in range(64):
            stream.write(b"\x00" * (1024 * 1024))
    evidence = _invalid(buffer.getvalue())
    assert "ratio" in evidence.errors[0].message


def test_zip_member_count_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBERS", 5)
    evidence = _invalid(builders.zip_of({f"f{i}.txt": b"x" for i in range(10)}))
    assert "more than 5 members" in evidence.errors[0].message


def _special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_tar_unsafe_members_skipped() -> None:
    sbom = builders.dumps(builders.cyclonedx(1))
    data = builders.tar_of(
        [
            ("../escape.json", sbom),
            ("/etc/abs.json", sbom),
            _special("link.json", tarfile.SYMTYPE, "/etc/passwd"),
            _special("hard.json", tarfile.LNKTYPE, "ok/sbom.json"),
            _special("dev", tarfile.CHRTYPE),
            _special("fifo", tarfile.FIFOTYPE),
            ("ok/sbom.json", sbom),
        ]
    )
    evidence = _parse(data)
    assert evidence.format == "tar"
    assert evidence.valid
    skipped = {m.path: m.skipped for m in evidence.members}
    assert skipped["../escape.json"] == "path contains '..'"
    assert skipped["/etc/abs.json"] == "absolute path"
    assert skipped["link.json"] == skipped["hard.json"] == "link"
    assert skipped["dev"] == skipped["fifo"] == "device or special file"
    assert skipped["ok/sbom.json"] is None
    assert len(evidence.warnings) == 6


def test_zip_unsafe_names_and_symlinks() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr("../../evil.json", b"{}")
        link = zipfile.ZipInfo("link")
        link.external_attr = 0o120777 << 16
        out.writestr(link, "/etc/passwd")
    evidence = _parse(buffer.getvalue())
    assert {m.path: m.skipped for m in evidence.members} == {
        "../../evil.json": "path contains '..'",
        "link": "link or special file",
    }


def test_nested_archives_not_recursed() -> None:
    inner = builders.zip_of({"sbom.json": builders.dumps(builders.cyclonedx(1))})
    outer = builders.tar_of([("inner.zip", inner)], "w:gz")
    evidence = _parse(outer)
    assert evidence.format == "tar.gz"
    member = evidence.members[0].evidence
    assert member is not None
    assert not member.valid
    assert "depth" in member.errors[0].message
    assert member.errors[0].location.startswith("inner.zip!")
