"""Tar, tar.gz and zip evidence bundles, inspected in memory only.

Nothing is extracted to disk. Every limit is enforced on bytes actually read,
not on sizes the archive claims, so lying headers and decompression bombs stop
at the limit. Unsafe members (``..``, absolute paths, links, devices) are listed
as skipped, never parsed; archives inside archives are not opened (depth 1).
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from maestro.evidence.common import count
from maestro.evidence.model import ArchiveMember, Component, Evidence, EvidenceError, Finding, ParsedEvidence

MAX_MEMBERS = 10_000
MAX_TOTAL = 512 * 1024 * 1024
MAX_MEMBER = 128 * 1024 * 1024
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024  # tiny inputs may compress very well and are harmless
_CHUNK = 1024 * 1024

ParseMember = Callable[[bytes, str], ParsedEvidence]


class LimitExceeded(EvidenceError):
    pass


@dataclass(slots=True)
class _Budget:
    """Bytes left under MAX_TOTAL, shared by all members of one archive."""

    left: int = MAX_TOTAL

    def take(self, size: int, where: str) -> None:
        self.left -= size
        if self.left < 0:
            raise LimitExceeded(where, f"archive expands beyond {MAX_TOTAL} bytes")


def gunzip(data: bytes) -> bytes:
    """Decompress gzip (all members) with the size and ratio limits applied as we go."""
    inflater = zlib.decompressobj(wbits=47)
    out = bytearray()
    pending = data
    while pending:
        try:
            chunk = inflater.decompress(pending, _CHUNK)
        except zlib.error as exc:
            raise EvidenceError("byte 0", f"corrupt gzip data: {exc}") from None
        out += chunk
        _check_ratio(len(out), len(data), "gzip")
        pending = inflater.unconsumed_tail
        if inflater.eof:
            rest = inflater.unused_data
            if not rest.strip(b"\x00"):
                break
            inflater = zlib.decompressobj(wbits=47)
            pending = rest
        elif not pending and not chunk:
            break
    if not inflater.eof:
        raise EvidenceError(f"byte {len(data)}", "truncated gzip data")
    return bytes(out)


def _check_ratio(expanded: int, compressed: int, where: str) -> None:
    if expanded > MAX_TOTAL:
        raise LimitExceeded(where, f"expands beyond {MAX_TOTAL} bytes")
    if expanded > RATIO_FLOOR and expanded > MAX_RATIO * max(compressed, 1):
        raise LimitExceeded(where, f"compression ratio above {MAX_RATIO}x (likely a decompression bomb)")


def unsafe_path(name: str) -> str | None:
    """Why a member path may not be used, or None when it is a plain relative path."""
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute path"
    if ".." in normalised.split("/"):
        return "path contains '..'"
    if "\x00" in name:
        return "NUL in path"
    return None


def _read_bounded(stream: IO[bytes], limit: int) -> bytes | None:
    """Read at most ``limit`` bytes; None if the stream holds more."""
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def _zip_members(data: bytes, budget: _Budget) -> Iterator[tuple[str, int, bytes | None, str | None]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise EvidenceError("byte 0", f"not a readable zip: {exc}") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            reason = unsafe_path(info.filename)
            if reason is None and mode and (mode & 0o170000) not in (0, 0o100000):
                reason = "link or special file"
            elif reason is None and info.flag_bits & 0x1:
                reason = "encrypted"
            elif reason is None and info.file_size > MAX_MEMBER:
                reason = f"larger than {MAX_MEMBER} bytes"
            elif (
                reason is None
                and info.file_size > RATIO_FLOOR
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)
            ):
                reason = f"compression ratio above {MAX_RATIO}x"
            if reason:
                yield info.filename, info.file_size, None, reason
                continue
            try:
                with archive.open(info) as stream:
                    body = _read_bounded(stream, min(MAX_MEMBER, max(budget.left, 0)))
            except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, EOFError) as exc:
                yield info.filename, info.file_size, None, f"unreadable: {exc}"
                continue
            if body is None:
                yield info.filename, info.file_size, None, "larger than declared or over the size limit"
                continue
            budget.take(len(body), info.filename)
            yield info.filename, len(body), body, None


def _tar_members(data: bytes, budget: _Budget) -> Iterator[tuple[str, int, bytes | None, str | None]]:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise EvidenceError("byte 0", f"not a readable tar: {exc}") from None
    with archive:
        while True:
            try:
                member = archive.next()
            except (tarfile.TarError, OSError) as exc:
                raise EvidenceError("tar", f"corrupt or truncated tar: {exc}") from None
            if member is None:
                return
            if member.isdir():
                continue
            reason = unsafe_path(member.name)
            if reason is None and (member.issym() or member.islnk()):
                reason = "link"
            elif reason is None and not member.isfile():
                reason = "device or special file"
            elif reason is None and member.size > MAX_MEMBER:
                reason = f"larger than {MAX_MEMBER} bytes"
            if reason:
                yield member.name, member.size, None, reason
                continue
            budget.take(member.size, member.name)
            stream = archive.extractfile(member)
            body = stream.read() if stream else b""
            if len(body) != member.size:
                raise EvidenceError(member.name, "truncated tar member")
            yield member.name, member.size, body, None


def _prefixed(findings: list[Finding], path: str) -> list[Finding]:
    return [Finding(location=f"{path}!{f.location}", message=f.message) for f in findings]


def parse_archive(data: bytes, kind: str, parse_member: ParseMember) -> ParsedEvidence:
    """Summarise each member; ``kind`` is 'zip', 'tar' or 'gzip' (a gzip may hold a tar)."""
    fmt = kind
    errors: list[Finding] = []
    warnings: list[Finding] = []
    members: list[ArchiveMember] = []
    components: list[Component] = []
    budget = _Budget()
    try:
        if kind == "gzip":
            data = gunzip(data)
            fmt = "tar.gz" if len(data) >= 262 and data[257:262] == b"ustar" else "gzip"
        if fmt == "gzip":
            entries: Iterator[tuple[str, int, bytes | None, str | None]] = iter(
                [("(gzip content)", len(data), data, None)]
            )
        else:
            entries = _zip_members(data, budget) if kind == "zip" else _tar_members(data, budget)
        for path, size, body, reason in entries:
            if len(members) >= MAX_MEMBERS:
                raise LimitExceeded(path, f"more than {MAX_MEMBERS} members")
            if body is None:
                members.append(ArchiveMember(path=path, size=size, skipped=reason))
                warnings.append(Finding(location=f"{path}!", message=f"member skipped: {reason}"))
                continue
            parsed = parse_member(body, path)
            evidence = parsed.evidence.model_copy(
                update={
                    "errors": _prefixed(parsed.evidence.errors, path),
                    "warnings": _prefixed(parsed.evidence.warnings, path),
                }
            )
            members.append(ArchiveMember(path=path, size=size, evidence=evidence))
            components.extend(parsed.components)
    except EvidenceError as exc:
        errors.append(Finding(location=exc.location, message=exc.message))
    summary = {
        "member_count": len(members),
        "parsed_count": sum(1 for m in members if m.evidence is not None),
        "skipped_count": sum(1 for m in members if m.skipped),
        "total_size": sum(m.size for m in members if m.evidence is not None),
        "by_type": count(m.evidence.evidence_type for m in members if m.evidence is not None),
    }
    evidence = Evidence(
        format=fmt,
        evidence_type="archive",
        valid=not errors,
        errors=errors,
        warnings=warnings[:200],
        summary=summary,
        members=members,
    )
    return ParsedEvidence(evidence, components)
