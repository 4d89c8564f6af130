"""Reading a pack archive without extracting it, and refusing what could hurt the reader.

Nothing is written to disk: each member is hashed as it streams past, and only
the few JSON documents the verifier reads are kept, each under a size cap. A
member is refused - with its name - when its path is absolute or climbs out
(``..``; the checks of ``tarfile``'s ``"data"`` filter), when it is a link, a
device or a FIFO, when it is larger than a limit, or when extended headers are
large enough to be a memory bomb; the whole archive is refused once its
members add up to more than a limit (a gzip bomb) or it has too many of them.
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MiB = 1 << 20
GiB = 1 << 30
_EXTENDED = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME}
_EXTENDED |= {tarfile.GNUTYPE_LONGLINK}
_DEST = "/maestro-pack-verify"  # never created: only what the "data" filter measures against
MAX_EXTENDED = 64 * 1024
CHUNK = MiB


class ArchiveRefused(ValueError):
    """The archive is unreadable, hostile, or larger than the limits allow."""


@dataclass(frozen=True, slots=True)
class Limits:
    member: int = 16 * GiB
    total: int = 64 * GiB
    members: int = 100_000
    document: int = 256 * MiB


DEFAULT_LIMITS = Limits()


@dataclass(slots=True)
class Contents:
    """Each regular file's sha256 (hex) in archive order, and the documents asked for."""

    digests: dict[str, str] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)


class _GuardedInfo(tarfile.TarInfo):
    """Refuses an extended header (pax, GNU long name) big enough to exhaust memory:
    ``tarfile`` reads those whole before it hands out the member they describe."""

    def _proc_member(self, tarfile_: Any) -> Any:
        if self.type in _EXTENDED and self.size > MAX_EXTENDED:
            raise ArchiveRefused(f"an extended header of {self.size} bytes (at most {MAX_EXTENDED})")
        return super()._proc_member(tarfile_)  # type: ignore[misc]


class _Budget:
    """The decompressed stream, refusing to yield more than ``limit`` bytes."""

    def __init__(self, raw: BinaryIO | gzip.GzipFile, limit: int) -> None:
        self._raw, self._left = raw, limit

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size if size >= 0 else CHUNK)
        self._left -= len(data)
        if self._left < 0:
            raise ArchiveRefused("the archive decompresses to more than the size limit (a gzip bomb?)")
        return data


def read(path: Path, documents: set[str], limits: Limits = DEFAULT_LIMITS) -> Contents:
    """Hash every member of the tar.gz at ``path``; keep the bytes of ``documents``."""
    contents = Contents()
    try:
        with gzip.open(path, "rb") as raw:
            budget = _Budget(raw, limits.total + 1024 * limits.members + 2 * MiB)  # headers too
            with tarfile.open(fileobj=budget, mode="r|", tarinfo=_GuardedInfo) as archive:  # type: ignore[call-overload]
                for member in archive:
                    _take(archive, member, contents, documents, limits)
    except ArchiveRefused:
        raise
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        raise ArchiveRefused(f"not a readable tar.gz: {exc}") from None
    return contents


def _take(
    archive: tarfile.TarFile, member: tarfile.TarInfo, contents: Contents, documents: set[str], limits: Limits
) -> None:
    name = _checked(member, limits)
    if member.isdir():
        return
    if name in contents.digests:
        raise ArchiveRefused(f"{name}: appears twice in the archive")
    if len(contents.digests) >= limits.members:
        raise ArchiveRefused(f"more than {limits.members} members")
    keep = name in documents
    if keep and member.size > limits.document:
        raise ArchiveRefused(f"{name}: {member.size} bytes, more than {limits.document} for a document")
    source = archive.extractfile(member)
    assert source is not None  # a regular file always has data
    hasher, kept = hashlib.sha256(), bytearray()
    while chunk := source.read(CHUNK):
        hasher.update(chunk)
        if keep:
            kept += chunk
    contents.digests[name] = hasher.hexdigest()
    if keep:
        contents.documents[name] = bytes(kept)


def _checked(member: tarfile.TarInfo, limits: Limits) -> str:
    """The member's name once it is shown harmless; ArchiveRefused naming it otherwise."""
    name = member.name
    try:
        tarfile.data_filter(member, _DEST)
    except tarfile.FilterError as exc:
        raise ArchiveRefused(f"{name}: refused ({exc})") from None
    if member.issym() or member.islnk():
        raise ArchiveRefused(f"{name}: refused (a link to {member.linkname!r})")
    if not (member.isreg() or member.isdir()) or member.issparse():
        raise ArchiveRefused(f"{name}: refused (a device, FIFO or other special file)")
    if name.startswith("/") or "\\" in name or ".." in name.split("/") or posixpath.normpath(name) != name:
        raise ArchiveRefused(f"{name}: refused (not a plain relative path)")
    if member.size > limits.member:
        raise ArchiveRefused(f"{name}: {member.size} bytes, more than the {limits.member}-byte limit")
    return name
