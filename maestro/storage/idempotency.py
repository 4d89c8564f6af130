"""Queries for Idempotency-Key records."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maestro.db.tables import IdempotencyKeyRow

keys_t = cast(Table, IdempotencyKeyRow.__table__)


def claim(session: Session, scope: str, key: str, request_sha256: str, now: datetime) -> bool:
    """Insert the in-flight marker; False when the key is already recorded."""
    try:
        with session.begin_nested():
            session.execute(
                insert(keys_t),
                [{"scope": scope, "key": key, "request_sha256": request_sha256, "created_at": now}],
            )
    except IntegrityError:
        return False
    return True


def get(session: Session, scope: str, key: str) -> Row[Any] | None:
    stmt = select(keys_t).where(keys_t.c.scope == scope, keys_t.c.key == key).with_for_update()
    return session.execute(stmt).first()


def forget(session: Session, scope: str, key: str) -> None:
    session.execute(delete(keys_t).where(keys_t.c.scope == scope, keys_t.c.key == key))


def record(
    session: Session,
    scope: str,
    key: str,
    request_sha256: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    session.execute(
        update(keys_t)
        .where(keys_t.c.scope == scope, keys_t.c.key == key)
        .values(
            request_sha256=request_sha256, status_code=status, response_body=body, response_headers=headers
        )
    )


def purge_older_than(session: Session, cutoff: datetime) -> int:
    result = session.execute(delete(keys_t).where(keys_t.c.created_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
