"""Idempotency-Key: a create retried with the same key returns the first response.

A key's record - the request's digest and the response - is written in the same
transaction as the changes the response describes (``maestro.api.unit_of_work``),
so a record exists exactly when its changes do. 5xx responses are not recorded, so
a retry runs again. Keys expire after ``TTL``: an expired record is replaced by the
next request with that key, and ``purge_expired`` removes the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from maestro.db.engine import Database
from maestro.errors import ValidationFailed
from maestro.storage import idempotency as store

TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Replay:
    request_sha256: str
    status: int
    body: bytes
    headers: dict[str, str]

    def check(self, request_sha256: str) -> None:
        if request_sha256 != self.request_sha256:
            raise ValidationFailed.for_field(
                "Idempotency-Key",
                "was already used with a different request; use a new key for a new request",
            )


def lookup(db: Database, scope: str, key: str, now: datetime) -> Replay | None:
    """The recorded response for this key, or None when the request must run."""
    with db.read() as session:
        record = store.get(session, scope, key)
    if record is None or record.status_code is None or record.created_at < now - TTL:
        return None  # (a NULL status is an in-flight marker an older release left)
    return Replay(record.request_sha256, record.status_code, record.response_body or b"", record.headers)


def record(
    session: Session,
    tenant_id: str,
    scope: str,
    key: str,
    request_sha256: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
    now: datetime,
) -> None:
    """Record a response in the caller's transaction. Raises ``IntegrityError`` when a
    current record for the key exists (a concurrent request committed first)."""
    store.forget_stale(session, scope, key, now - TTL)
    record = store.IdempotencyRecord(scope, key, request_sha256, status, body, headers, now)
    store.insert_record(session, tenant_id, record)


def purge_expired(db: Database, now: datetime) -> int:
    with db.write() as session:
        return store.purge_older_than(session, now - TTL)
