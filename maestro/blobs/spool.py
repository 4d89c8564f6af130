"""Spooling an upload to disk while hashing it: constant memory at any size."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from maestro.errors import PayloadTooLarge

HASHES = ("sha256", "sha384", "sha512", "sha1")


class Spool:
    """A temporary file (created O_EXCL) that counts and hashes what is written.

    ``write`` raises PayloadTooLarge as soon as the limit is crossed. ``discard``
    removes the file; a blob store may instead take it over (``put_file``).
    """

    def __init__(self, directory: Path, limit: int, extra_hashes: tuple[str, ...] = ()) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=directory)
        self.path = Path(name)
        self._file: IO[bytes] = os.fdopen(fd, "wb")
        self.limit = limit
        self.size = 0
        self._hashes = {"sha256": hashlib.sha256()}
        for algorithm in extra_hashes:
            if algorithm in HASHES:
                self._hashes.setdefault(algorithm, hashlib.new(algorithm))

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise PayloadTooLarge(f"Content is larger than the {self.limit}-byte limit; nothing was kept")
        self._file.write(chunk)
        for digest in self._hashes.values():
            digest.update(chunk)

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()

    def hexdigest(self, algorithm: str = "sha256") -> str | None:
        digest = self._hashes.get(algorithm)
        return digest.hexdigest() if digest else None

    @property
    def digest(self) -> str:
        return f"sha256:{self._hashes['sha256'].hexdigest()}"

    def read_bytes(self, limit: int) -> bytes | None:
        """The content, or None when it is larger than ``limit`` (too big to parse)."""
        self.close()
        if self.size > limit:
            return None
        return self.path.read_bytes()

    def discard(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
