"""Queries for tenants and API tokens. Callers pass their session; nothing commits here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

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


def token_by_hash(session: Session, token_hash: str) -> ApiTokenRow | None:
    """The token with this SHA-256 (a unique-index lookup), or None."""
    return session.scalars(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash)).first()


def list_tokens(session: Session, tenant_id: str | None) -> Sequence[ApiTokenRow]:
    stmt = select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.id)
    if tenant_id is not None:
        stmt = stmt.where(ApiTokenRow.tenant_id == tenant_id)
    return session.scalars(stmt).all()


def any_token(session: Session) -> bool:
    """Whether any token was ever created (revoked and expired ones count)."""
    return bool(session.scalar(select(exists().where(ApiTokenRow.id.is_not(None)))))


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
