"""Moving artifact bytes in fixed-size chunks, so memory stays flat for any file size.

Uploads are a generator read chunk by chunk as httpx sends them; downloads are
hashed while written and only land under their final name once the digest
matched, so a corrupt or truncated download never looks like a good file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from maestro.errors import ContentCorrupt

CHUNK = 256 * 1024
Progress = Callable[[int, int | None], None]


@dataclass(slots=True)
class Source:
    """An upload's bytes. ``start`` is where to rewind for another attempt; None means
    the stream cannot be rewound (a pipe), so the upload cannot be retried."""

    file: BinaryIO
    start: int | None
    size: int | None
    owned: bool

    @classmethod
    def open(cls, source: str | os.PathLike[str] | BinaryIO) -> Source:
        if isinstance(source, str | os.PathLike):
            return cls._measure(open(source, "rb"), owned=True)  # closed by close()
        return cls._measure(source, owned=False)

    @classmethod
    def _measure(cls, file: BinaryIO, *, owned: bool) -> Source:
        try:
            if file.seekable():
                start = file.tell()
                size = file.seek(0, os.SEEK_END) - start
                file.seek(start)
                return cls(file, start, size, owned)
        except (OSError, ValueError):
            pass
        return cls(file, None, None, owned)

    @property
    def rewindable(self) -> bool:
        return self.start is not None

    def chunks(self, progress: Progress | None = None) -> Iterator[bytes]:
        """The bytes from ``start``, one chunk at a time; never the whole file at once."""
        if self.start is not None:
            self.file.seek(self.start)
        sent = 0
        while chunk := self.file.read(CHUNK):
            sent += len(chunk)
            yield chunk
            if progress is not None:
                progress(sent, self.size)

    def close(self) -> None:
        if self.owned:
            self.file.close()


class MultipartUpload:
    """A ``multipart/form-data`` body (an ``artifact`` JSON field and a ``file`` part)
    generated around a streamed file, with its exact length known up front."""

    def __init__(self, artifact_json: bytes, filename: str, media_type: str, source: Source) -> None:
        boundary = f"maestro-{uuid.uuid4().hex}"
        safe_name = "".join(c for c in filename if c.isprintable() and c not in '"\\\r\n') or "content"
        self.boundary = boundary
        self.head = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="artifact"\r\n'
                "Content-Type: application/json\r\n\r\n"
            ).encode()
            + artifact_json
            + (
                f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
                f"Content-Type: {media_type}\r\n\r\n"
            ).encode()
        )
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.source = source

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        if self.source.size is not None:
            headers["Content-Length"] = str(len(self.head) + self.source.size + len(self.tail))
        return headers

    def chunks(self, progress: Progress | None = None) -> Iterator[bytes]:
        yield self.head
        yield from self.source.chunks(progress)
        yield self.tail


def file_digest(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def write_verified(chunks: Iterable[bytes], expected: str, dest: str | os.PathLike[str] | BinaryIO) -> None:
    """Write ``chunks`` to ``dest`` and raise ContentCorrupt unless they hash to ``expected``.

    A path is written through a temporary sibling renamed into place on success, so
    a mismatch leaves no file behind. A file object receives the bytes as they come;
    on a mismatch its content must be discarded by the caller."""
    if not isinstance(dest, str | os.PathLike):
        _check(_copy(chunks, dest), expected)
        return
    final = Path(dest)
    partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(partial, "wb") as file:
            actual = _copy(chunks, file)
        _check(actual, expected)
        os.replace(partial, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _copy(chunks: Iterable[bytes], file: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        file.write(chunk)
    return f"sha256:{digest.hexdigest()}"


def _check(actual: str, expected: str) -> None:
    if actual != expected:
        raise ContentCorrupt(f"Downloaded bytes hash to {actual}, but the server announced {expected}")


def write_whole(chunks: Iterable[bytes], final: Path) -> None:
    """Write ``chunks`` to a temporary sibling of ``final``, renamed into place only once
    every chunk arrived (an error midway leaves nothing under ``final``)."""
    partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(partial, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
        os.replace(partial, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
