"""Writing an SBOM's component index without stalling other writers.

SQLite admits one writer at a time, and indexing a 500k-component SBOM in one
transaction held that lock for about 30 s: every concurrent create waited as long.
So on SQLite an index larger than one batch is written in transactions of
``BATCH`` rows, pausing between them so waiting writers get their turn.

Readers never see half of it, because the component index only shows artifacts
whose content is attached (``storage.evidence.visible``), and the content is
attached in the transaction that ends the indexing. Meanwhile the upload holds a
claim on the artifact (``component_index_claims``), renewed with every batch:
a second upload of the same artifact is refused with 409 while it is live, and
takes it over and clears the rows it left once it has lapsed (the process died).

PostgreSQL has no global write lock (its writers only wait on the rows they
share), so there the index goes in one transaction, through COPY.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from maestro.db.engine import Database
from maestro.errors import Conflict
from maestro.storage import evidence as evidence_store

log = logging.getLogger("maestro.components")

BATCH = 5000  # rows per transaction: about 0.1-0.2 s of SQLite's write lock
LEASE = timedelta(minutes=5)  # a claim not renewed for this long belongs to a dead upload
_PAUSE = 0.25  # pause after a batch for this share of its duration, so waiters get the lock


def in_batches(db: Database, rows: Sequence[Any]) -> bool:
    """Whether this index is written in batches (SQLite, more than one batch of rows)."""
    return db.dialect == "sqlite" and len(rows) > BATCH


def claim(session: Session, artifact_id: str, token: str, now: datetime) -> bool:
    """Take the artifact's claim, inside the caller's write transaction. True when a
    lapsed claim was taken over, so its leftover rows must be cleared first."""
    current = evidence_store.get_claim(session, artifact_id)
    if current is not None and current.renewed_at + LEASE > now:
        raise Conflict(_BUSY)
    evidence_store.put_claim(session, artifact_id, token, now)
    return current is not None


def check_unclaimed(session: Session, artifact_id: str, now: datetime) -> None:
    """For a one-transaction index: refuse while a batched upload is live; clear what a
    dead one left (the artifact has no content, so every row it has is a leftover)."""
    current = evidence_store.get_claim(session, artifact_id)
    if current is None:
        return
    if current.renewed_at + LEASE > now:
        raise Conflict(_BUSY)
    evidence_store.delete_components_of(session, artifact_id)
    evidence_store.drop_claim(session, artifact_id)


_BUSY = "Another upload of this artifact's content is still being indexed; retry when it has finished"


def write_batches(db: Database, artifact_id: str, token: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` in short transactions, each renewing the claim; Conflict if it was lost."""
    for start in range(0, len(rows), BATCH):
        began = time.monotonic()
        with db.write() as session:
            _renew(session, artifact_id, token)
            evidence_store.insert_components(session, rows[start : start + BATCH])
        time.sleep((time.monotonic() - began) * _PAUSE)


def clear_leftovers(db: Database, artifact_id: str, token: str) -> None:
    """Delete a dead upload's rows, a batch per transaction."""
    while True:
        with db.write() as session:
            _renew(session, artifact_id, token)
            if evidence_store.delete_components_of(session, artifact_id, BATCH) == 0:
                return


def release(session: Session, artifact_id: str, token: str) -> None:
    """End the claim in the transaction that attaches the content (and so shows the index)."""
    _renew(session, artifact_id, token)
    evidence_store.drop_claim(session, artifact_id)


def abandon(db: Database, artifact_id: str, token: str) -> None:
    """After a failure: remove our rows and the claim, best effort (what remains is hidden,
    and the next upload clears it once the claim lapses)."""
    try:
        clear_leftovers(db, artifact_id, token)
        with db.write() as session:
            evidence_store.drop_claim(session, artifact_id)
    except Exception as exc:
        log.warning(
            "could not clear a failed upload's index rows",
            extra={"artifact_id": artifact_id, "error": str(exc)},
        )


def _renew(session: Session, artifact_id: str, token: str) -> None:
    if not evidence_store.renew_claim(session, artifact_id, token, datetime.now(UTC)):
        raise Conflict("This upload's claim on the artifact lapsed and another upload took it over")
