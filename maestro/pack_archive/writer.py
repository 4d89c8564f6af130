"""A tar.gz written as a stream of chunks: ustar headers, data, padding, deflate.

``tarfile`` copies a whole member per call, so its output for a large blob would
pile up before a byte could be sent. Here each chunk of a member goes through
the compressor as it is read, so memory stays at one chunk whatever the sizes.
Every header has the same owner, mode and mtime and no extended headers, and the
gzip header carries no time: the same members give the same bytes.
"""

from __future__ import annotations

import hashlib
import tarfile
import zlib
from collections.abc import Iterator

BLOCK = tarfile.BLOCKSIZE


class MemberTooLong(ValueError):
    """A member wrote more or fewer bytes than its header announced."""


class TarGzWriter:
    def __init__(self, mtime: int) -> None:
        self._mtime = mtime
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip wrapper, mtime 0
        self._open: tuple[str, int] | None = None
        self._written = 0
        self._hash = hashlib.sha256()
        self.digests: list[tuple[str, str]] = []  # (member name, sha256 hex), in order

    def _header(self, name: str, size: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self._mtime, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="ascii", errors="strict")

    def begin(self, name: str, size: int) -> bytes:
        """Start a member of ``size`` bytes; its data follows through ``data``."""
        if self._open is not None:
            raise RuntimeError(f"member {self._open[0]!r} is still open")
        self._open, self._written, self._hash = (name, size), 0, hashlib.sha256()
        return self._zip.compress(self._header(name, size))

    def data(self, chunk: bytes) -> bytes:
        assert self._open is not None
        self._written += len(chunk)
        if self._written > self._open[1]:
            raise MemberTooLong(f"{self._open[0]}: more than the {self._open[1]} bytes announced")
        self._hash.update(chunk)
        return self._zip.compress(chunk)

    def end(self) -> bytes:
        """Close the member (padding it to a block) and record its digest."""
        assert self._open is not None
        name, size = self._open
        if self._written != size:
            raise MemberTooLong(f"{name}: {self._written} bytes, not the {size} announced")
        self._open = None
        self.digests.append((name, self._hash.hexdigest()))
        return self._zip.compress(b"\0" * (-size % BLOCK))

    def member(self, name: str, content: bytes) -> bytes:
        """A whole small member at once."""
        return self.begin(name, len(content)) + self.data(content) + self.end()

    def close(self) -> bytes:
        """The end-of-archive blocks and the rest of the compressed stream."""
        return self._zip.compress(b"\0" * (2 * BLOCK)) + self._zip.flush()


def chunks_of(writer: TarGzWriter, name: str, size: int, source: Iterator[bytes]) -> Iterator[bytes]:
    """One member streamed from ``source``, skipping the empty outputs of the compressor."""
    head = writer.begin(name, size)
    if head:
        yield head
    for chunk in source:
        out = writer.data(chunk)
        if out:
            yield out
    yield writer.end()
