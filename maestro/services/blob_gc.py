"""Garbage collection of blobs no artifact references.

Each candidate is re-checked under its row lock and removed from the store
while that lock is held: an upload leasing the same digest waits on the lock,
then re-creates the row and re-writes the bytes. A leased blob (an upload in
flight) is never a candidate.
"""

from __future__ import annotations

from datetime import UTC, datetime

from maestro.blobs.base import BlobStore
from maestro.db.engine import Database
from maestro.storage import evidence as evidence_store


def collect_garbage(
    db: Database, blobs: BlobStore, *, batch: int = 500, now: datetime | None = None
) -> list[str]:
    """Delete unreferenced blobs whose lease has lapsed; returns the digests removed."""
    removed: list[str] = []
    now = now or datetime.now(UTC)
    skipped: set[str] = set()
    while True:
        with db.read() as session:
            candidates = [
                d
                for d in evidence_store.unreferenced_blobs(session, now, batch + len(skipped))
                if d not in skipped
            ]
        if not candidates:
            return removed
        for digest in candidates:
            with db.write() as session:
                if not evidence_store.claim_blob_for_deletion(session, digest, now):
                    skipped.add(digest)  # referenced or leased meanwhile
                    continue
                blobs.delete(digest)
                evidence_store.delete_blob_row(session, digest)
            removed.append(digest)
