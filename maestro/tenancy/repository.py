"""Queries for tenants and API tokens. Callers pass their session; nothing commits here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, bindparam, exists, select, update
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session

from maestro.db.driver import driver_cursor
from maestro.db.tenancy_tables import ApiTokenRow, TenantRow


def get_tenant(session: Session, tenant_id: str) -> TenantRow | None:
    return session.get(TenantRow, tenant_id)


def add_tenant(session: Session, row: TenantRow) -> None:
    session.add(row)
    session.flush()


def list_tenants(session: Session) -> Sequence[TenantRow]:
    return session.scalars(select(TenantRow).order_by(TenantRow.created_at, TenantRow.id)).all()


def add_token(session: Session, row: ApiTokenRow) -> None:
    session.add(row)
    session.flush()


def get_token(session: Session, token_id: str) -> ApiTokenRow | None:
    return session.get(ApiTokenRow, token_id)


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What authenticating a request needs to know of its token."""

    id: str
    tenant_id: str
    role: str
    token_hash: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


_TOKENS: Table = ApiTokenRow.__table__  # type: ignore[assignment]
_TOKEN_CHECK = select(*(_TOKENS.c[name] for name in TokenCheck.__slots__)).where(
    _TOKENS.c.token_hash == bindparam("digest")
)


def token_by_hash(conn: Connection, token_hash: str) -> TokenCheck | None:
    """The token with this SHA-256 (a unique-index lookup), or None. Core on a bare
    connection: this runs for every request that carries a token."""
    row = conn.execute(_TOKEN_CHECK, {"digest": token_hash}).first()
    return None if row is None else TokenCheck(*row)


def list_tokens(session: Session, tenant_id: str | None) -> Sequence[ApiTokenRow]:
    stmt = select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.id)
    if tenant_id is not None:
        stmt = stmt.where(ApiTokenRow.tenant_id == tenant_id)
    return session.scalars(stmt).all()


_ANY_TOKEN = "SELECT 1 FROM api_tokens LIMIT 1"


def any_token_on(conn: Connection) -> bool:
    """``any_token`` on a Core connection: a unit of work's, in its transaction (on its
    driver cursor: local mode asks it on every request)."""
    with driver_cursor(conn) as cursor:
        cursor.execute(_ANY_TOKEN)
        return cursor.fetchone() is not None


def any_token(conn: DBAPIConnection) -> bool:
    """Whether any token was ever created (revoked and expired ones count). On a driver
    connection: local mode asks this on every request."""
    cursor = conn.cursor()
    try:
        cursor.execute(_ANY_TOKEN)
        return cursor.fetchone() is not None
    finally:
        cursor.close()


def active_admin_exists(session: Session, now: datetime) -> bool:
    """Whether an admin token that still works exists, in any tenant."""
    stmt = select(
        exists().where(
            ApiTokenRow.role == "admin",
            ApiTokenRow.revoked_at.is_(None),
            ApiTokenRow.expires_at > now,
        )
    )
    return bool(session.scalar(stmt))


def revoke(session: Session, token_id: str, now: datetime) -> None:
    """Mark revoked (once: a second revoke keeps the first time)."""
    session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def touch(session: Session, token_id: str, now: datetime, stale_before: datetime) -> bool:
    """Set ``last_used_at`` unless another request (any replica) did since ``stale_before``."""
    result = session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.id == token_id,
            (ApiTokenRow.last_used_at.is_(None)) | (ApiTokenRow.last_used_at <= stale_before),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
