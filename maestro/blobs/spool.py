"""Spooling an upload to disk while hashing it: constant memory at any size.

A spool file lives in ``<data_dir>/tmp`` as ``upload-*`` and holds a shared
``flock`` for as long as its ``Spool`` object is open. A process that dies
drops its locks, so a file nobody holds a lock on, and that is older than
``STALE_AFTER``, is a crash's leftover: ``sweep_stale`` removes those, safely
even while other workers sharing the directory have uploads in flight. (The age
bound covers the moment between creating a file and locking it, and a download
copy that is handed to the response after its ``Spool`` is gone.)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from maestro.errors import InsufficientStorage, PayloadTooLarge

HASHES = ("sha256", "sha384", "sha512", "sha1")
PREFIX = "upload-"
STALE_AFTER = 60.0  # seconds
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def no_space(exc: OSError, where: Path) -> InsufficientStorage | None:
    """The 507 for a full disk or quota, naming the directory; None for other errors."""
    if exc.errno not in _NO_SPACE:
        return None
    return InsufficientStorage(
        f"No space left on the device holding {where} ({os.strerror(exc.errno or 0)}); "
        "free space in the data directory; nothing was kept"
    )


@contextlib.contextmanager
def disk_errors(where: Path) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT into InsufficientStorage naming ``where``."""
    try:
        yield
    except OSError as exc:
        full = no_space(exc, where)
        if full is None:
            raise
        raise full from exc


class Spool:
    """A temporary file (created O_EXCL) that counts and hashes what is written.

    ``write`` raises PayloadTooLarge as soon as the limit is crossed, and
    InsufficientStorage when the disk is full. ``discard`` removes the file; a
    blob store may instead take it over (``put_file``).
    """

    def __init__(self, directory: Path, limit: int, extra_hashes: tuple[str, ...] = ()) -> None:
        self.directory = directory
        with disk_errors(directory):
            directory.mkdir(parents=True, exist_ok=True)
            fd, self.path = _locked_temp(directory)
        self._lock = weakref.finalize(self, os.close, os.dup(fd))
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
        try:
            self._file.write(chunk)
        except OSError as exc:
            self._fail(exc)
        for digest in self._hashes.values():
            digest.update(chunk)

    def _fail(self, exc: OSError) -> None:
        self.discard()
        full = no_space(exc, self.directory)
        if full is None:
            raise exc
        raise full from exc

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._file.flush()
            except OSError as exc:
                self._fail(exc)
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
        """Remove the file (if no store took it) and drop the lock."""
        with contextlib.suppress(OSError):
            if not self._file.closed:
                self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._lock()


def _locked_temp(directory: Path) -> tuple[int, Path]:
    """A new spool file with our shared lock on it. A sweeper may unlink the name between
    create and lock; then the name no longer leads to our file, and we make another."""
    while True:
        fd, name = tempfile.mkstemp(prefix=PREFIX, dir=directory)
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            same = os.stat(name).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, Path(name)
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Swept:
    path: Path
    size: int


def sweep_stale(directory: Path, *, older_than: float = STALE_AFTER, now: float | None = None) -> list[Swept]:
    """Remove spool files no live process holds and not touched for ``older_than`` seconds."""
    if not directory.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    for path in sorted(directory.glob(f"{PREFIX}*")):
        swept = _remove_if_stale(path, now - older_than)
        if swept is not None:
            removed.append(swept)
    return removed


def _remove_if_stale(path: Path, cutoff: float) -> Swept | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:  # gone already, or not a plain file we may read
        return None
    try:
        stat = os.fstat(fd)
        if stat.st_mtime > cutoff:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # an upload in flight holds it
            return None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == stat.st_ino:
                path.unlink()
                return Swept(path, stat.st_size)
        return None
    finally:
        os.close(fd)
