"""Blobs as files under a directory: ``<root>/sha256/<ab>/<hex>``.

Writes are crash-safe: the upload is spooled to a temporary file created with
O_EXCL in the same file system, fsynced, then renamed into place atomically
and the directory fsynced. A reader sees a whole blob or none.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from maestro.blobs.base import BlobMissing, check_digest, digest_parts
from maestro.blobs.spool import disk_errors


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_into(source: Path, target: Path) -> None:
    """Spool on another file system: copy into a sibling temp file, then rename."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        fan, name = digest_parts(digest)
        return self.root / "sha256" / fan / name

    def put_file(self, digest: str, source: Path, size: int) -> bool:
        target = self._path(digest)
        if target.exists():
            return False
        with disk_errors(self.root):
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(source, "rb") as handle:
                os.fsync(handle.fileno())
            if source.stat().st_dev == target.parent.stat().st_dev:
                os.replace(source, target)
            else:
                _copy_into(source, target)
            fsync_dir(target.parent)
        return True

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def local_path(self, digest: str) -> Path | None:
        """The blob's file, for serving it without a copy (blobs never change in place)."""
        path = self._path(digest)
        return path if path.is_file() else None

    @contextlib.contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        try:
            handle = open(self._path(digest), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise BlobMissing(digest) from None
        with handle:
            yield handle

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(digest).unlink()

    def iter_digests(self) -> Iterator[str]:
        for path in (self.root / "sha256").glob("*/*"):
            digest = f"sha256:{path.name}"
            with contextlib.suppress(ValueError):
                yield check_digest(digest)

    def describe(self) -> str:
        return f"local:{self.root}"

    def check(self) -> None:
        directory = self.root / "sha256"
        if not os.access(directory, os.W_OK | os.X_OK):
            raise OSError(f"{directory} is not a writable directory")
