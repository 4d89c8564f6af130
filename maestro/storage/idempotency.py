"""Queries for Idempotency-Key records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert, or_, select
from sqlalchemy.orm import Session

from maestro.db.tables import IdempotencyKeyRow

keys_t = cast(Table, IdempotencyKeyRow.__table__)


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    scope: str
    key: str
    request_sha256: str
    status_code: int | None
    response_body: bytes | None
    headers: dict[str, str]
    created_at: datetime


def get(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
    stmt = select(keys_t).where(keys_t.c.scope == scope, keys_t.c.key == key)
    row = session.execute(stmt).first()
    if row is None:
        return None
    return IdempotencyRecord(
        row.scope,
        row.key,
        row.request_sha256,
        row.status_code,
        row.response_body,
        dict(row.response_headers or {}),
        row.created_at,
    )


def insert_record(session: Session, tenant_id: str, record: IdempotencyRecord) -> None:
    """Raises ``IntegrityError`` when the key is taken (on PostgreSQL after waiting for a
    concurrent inserter to commit or roll back)."""
    session.execute(
        insert(keys_t),
        [
            {
                "tenant_id": tenant_id,
                "scope": record.scope,
                "key": record.key,
                "request_sha256": record.request_sha256,
                "status_code": record.status_code,
                "response_body": record.response_body,
                "response_headers": record.headers,
                "created_at": record.created_at,
            }
        ],
    )


def forget_stale(session: Session, scope: str, key: str, cutoff: datetime) -> None:
    """Remove the key's record if it expired or is an in-flight marker an older release left."""
    session.execute(
        delete(keys_t).where(
            keys_t.c.scope == scope,
            keys_t.c.key == key,
            or_(keys_t.c.created_at < cutoff, keys_t.c.status_code.is_(None)),
        )
    )


def purge_older_than(session: Session, cutoff: datetime) -> int:
    result = session.execute(delete(keys_t).where(keys_t.c.created_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
