"""Tokens for tests: issued straight through the service, as bootstrap does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maestro.db.engine import Database
from maestro.db.tenancy_tables import TenantRow
from maestro.tenancy import repository, tokens
from maestro.tenancy.contract import TokenCreate, TokenSecret
from maestro.tenancy.roles import Role


def ensure_tenant(db: Database, tenant_id: str) -> None:
    with db.write() as session:
        if repository.get_tenant(session, tenant_id) is None:
            repository.add_tenant(
                session, TenantRow(id=tenant_id, name=tenant_id, created_at=datetime.now(UTC))
            )


def issue(
    db: Database,
    role: Role = Role.ADMIN,
    tenant_id: str = "default",
    *,
    now: datetime | None = None,
    lifetime: timedelta = timedelta(days=30),
) -> TokenSecret:
    """A token issued at ``now`` (default: now) living ``lifetime``."""
    ensure_tenant(db, tenant_id)
    now = now or datetime.now(UTC)
    data = TokenCreate(tenant_id=tenant_id, role=role, name=f"{role.value} test", expires_at=now + lifetime)
    with db.write() as session:
        return tokens.issue(session, data, now, None)


def bearer(token: TokenSecret | str) -> dict[str, str]:
    value = token if isinstance(token, str) else token.token
    return {"Authorization": f"Bearer {value}"}
