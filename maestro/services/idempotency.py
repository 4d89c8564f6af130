"""Idempotency-Key: a create retried with the same key returns the first response.

The first request with a key records an in-flight marker, runs, and records a
digest of itself and its response (unless it was a 5xx, which is forgotten so a
retry runs again). A repeat with the same key and the same request gets that
response back; with a different request it is refused; while the first is still
running it is told to retry. The request digest is taken as the body streams
through, so a multipart upload is never buffered to be hashed. Keys expire after
``TTL``; a marker left by a crashed request is taken over after ``ABANDONED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from maestro.db.engine import Database
from maestro.errors import Conflict, ValidationFailed
from maestro.storage import idempotency as store

TTL = timedelta(hours=24)
ABANDONED = timedelta(minutes=2)
IN_FLIGHT = ""  # request digest of a marker whose request has not finished


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


def begin(db: Database, scope: str, key: str) -> Replay | None:
    """None: this request is the first and must run. A Replay: answer with it (after
    ``Replay.check`` of this request's digest)."""
    now = datetime.now(UTC)
    with db.write() as session:
        if store.claim(session, scope, key, IN_FLIGHT, now):
            return None
        row = store.get(session, scope, key)
        stale = row is not None and (
            row.created_at < now - TTL or (row.status_code is None and row.created_at < now - ABANDONED)
        )
        if row is None or stale:
            store.forget(session, scope, key)
            store.claim(session, scope, key, IN_FLIGHT, now)
            return None
        if row.status_code is None:
            raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly")
        return Replay(
            row.request_sha256, row.status_code, row.response_body or b"", dict(row.response_headers or {})
        )


def finish(
    db: Database, scope: str, key: str, request_sha256: str, status: int, body: bytes, headers: dict[str, str]
) -> None:
    with db.write() as session:
        if status >= 500:
            store.forget(session, scope, key)
        else:
            store.record(session, scope, key, request_sha256, status, body, headers)


def abandon(db: Database, scope: str, key: str) -> None:
    with db.write() as session:
        store.forget(session, scope, key)


def purge_expired(db: Database) -> int:
    with db.write() as session:
        return store.purge_older_than(session, datetime.now(UTC) - TTL)
