"""The blob store interface.

A blob is named by ``sha256:<64 lowercase hex>`` computed by the server while the
bytes streamed in. No client-supplied string ever becomes a path or an object
key: ``check_digest`` is the only gate, and it admits nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class BlobMissing(Exception):
    """The store has no blob under that digest."""


def check_digest(digest: str) -> str:
    """The digest itself, or ValueError: the guard in front of every path and key."""
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a sha256 digest: {digest[:80]!r}")
    return digest


def digest_parts(digest: str) -> tuple[str, str]:
    """``("ab", "<hex>")``: a fan-out directory and the name under it."""
    hexdigest = check_digest(digest).split(":", 1)[1]
    return hexdigest[:2], hexdigest


class BlobStore(Protocol):
    """Where content lives. Implementations must be safe for concurrent use."""

    def put_file(self, digest: str, source: Path, size: int) -> bool:
        """Store the file at ``source`` (already hashed to ``digest``); False when the
        store already had it. ``source`` may be consumed (moved)."""

    def exists(self, digest: str) -> bool: ...

    def local_path(self, digest: str) -> Path | None:
        """A file holding the blob when the store is a local directory, else None."""

    def open(self, digest: str) -> AbstractContextManager[BinaryIO]:
        """A readable binary stream of the blob; BlobMissing when absent."""

    def delete(self, digest: str) -> None:
        """Remove the blob; absent is not an error."""

    def iter_digests(self) -> Iterator[str]:
        """Every digest the store holds (for garbage collection)."""

    def describe(self) -> str: ...

    def check(self) -> None:
        """Raise when the store cannot be used (for /readyz)."""
