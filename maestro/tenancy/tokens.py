"""API tokens and tenants: create, list, revoke, and authenticate a bearer value.

Who manages what: tenant ``default`` is the deployment's own tenant. Its admins
create tenants and manage tokens of any tenant; an admin of any other tenant
manages only its own tenant's tokens, and another tenant's token or tenant is a
404 to it (existence does not leak). The route table already requires ``admin``
for every call here; these rules add the tenant boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from maestro.db.tenancy_tables import ApiTokenRow, TenantRow
from maestro.errors import Conflict, Forbidden, TenantNotFound, TokenNotFound, Unauthorized, ValidationFailed
from maestro.ids import uuid7
from maestro.tenancy import repository, token_format
from maestro.tenancy.contract import (
    DEFAULT_EXPIRY_DAYS,
    MAX_EXPIRY_DAYS,
    TenantCreate,
    Token,
    TokenCreate,
    TokenSecret,
)
from maestro.tenancy.principal import Principal
from maestro.tenancy.roles import Role

SYSTEM_TENANT = "default"
# last_used_at is written at most this often per token: a busy token does not turn every
# read into a write, and the column is still good enough to find tokens nobody uses.
TOUCH_INTERVAL = timedelta(minutes=1)


def expiry(requested: datetime | None, now: datetime) -> datetime:
    """When a new token expires: ``requested`` if it is in (now, now + 366 days]."""
    if requested is None:
        return now + timedelta(days=DEFAULT_EXPIRY_DAYS)
    if requested <= now:
        raise ValidationFailed.for_field("expires_at", "is not in the future")
    if requested > now + timedelta(days=MAX_EXPIRY_DAYS):
        raise ValidationFailed.for_field("expires_at", f"is more than {MAX_EXPIRY_DAYS} days ahead")
    return requested


def _may_manage(actor: Principal, tenant_id: str) -> bool:
    return actor.tenant_id in (SYSTEM_TENANT, tenant_id)


def _to_token(row: ApiTokenRow) -> Token:
    return Token(
        id=row.id,
        tenant_id=row.tenant_id,
        role=Role(row.role),
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        created_by=row.created_by,
    )


def issue(session: Session, data: TokenCreate, now: datetime, created_by: str | None) -> TokenSecret:
    """Store a new token's hash; the returned secret is never available again."""
    if repository.get_tenant(session, data.tenant_id) is None:
        raise TenantNotFound(f"Tenant {data.tenant_id!r} not found")
    secret = token_format.new_token()
    row = ApiTokenRow(
        id=uuid7(),
        tenant_id=data.tenant_id,
        role=data.role.value,
        name=data.name,
        token_hash=token_format.token_hash(secret),
        created_at=now,
        expires_at=expiry(data.expires_at, now),
        revoked_at=None,
        last_used_at=None,
        created_by=created_by,
    )
    repository.add_token(session, row)
    return TokenSecret(**_to_token(row).model_dump(), token=secret)


def create_token(session: Session, actor: Principal, data: TokenCreate, now: datetime) -> TokenSecret:
    """An admin creates a token for its own tenant (or, from tenant ``default``, any tenant)."""
    if not _may_manage(actor, data.tenant_id):
        raise TenantNotFound(f"Tenant {data.tenant_id!r} not found")
    return issue(session, data, now, actor.token_id)


def list_tokens(session: Session, actor: Principal, tenant_id: str | None) -> list[Token]:
    """Tokens (never secrets), oldest first; an admin outside ``default`` sees only its tenant's."""
    if actor.tenant_id != SYSTEM_TENANT:
        if tenant_id not in (None, actor.tenant_id):
            return []
        tenant_id = actor.tenant_id
    return [_to_token(row) for row in repository.list_tokens(session, tenant_id)]


def revoke_token(session: Session, actor: Principal, token_id: str, now: datetime) -> Token:
    """Revoke: the next request with that token gets a 401. Revoking twice is harmless;
    revoking the very token that asks is refused (409)."""
    row = repository.get_token(session, token_id)
    if row is None or not _may_manage(actor, row.tenant_id):
        raise TokenNotFound(f"Token {token_id!r} not found")
    if row.id == actor.token_id:
        # An admin cannot lock itself out by accident: the last admin token revoking itself
        # would leave only `maestro tokens bootstrap --force` on the server.
        raise Conflict("A token cannot revoke itself; revoke it with another admin token")
    repository.revoke(session, token_id, now)
    session.refresh(row)
    return _to_token(row)


def _require_system_admin(actor: Principal) -> None:
    if actor.tenant_id != SYSTEM_TENANT or actor.role is not Role.ADMIN:
        raise Forbidden(f"Managing tenants needs role admin in tenant {SYSTEM_TENANT!r}")


def create_tenant(session: Session, actor: Principal, data: TenantCreate, now: datetime) -> TenantRow:
    _require_system_admin(actor)
    if repository.get_tenant(session, data.id) is not None:
        raise Conflict(f"Tenant {data.id!r} already exists")
    row = TenantRow(id=data.id, name=data.name, created_at=now)
    repository.add_tenant(session, row)
    return row


def list_tenants(session: Session, actor: Principal) -> Sequence[TenantRow]:
    _require_system_admin(actor)
    return repository.list_tenants(session)


@dataclass(frozen=True, slots=True)
class Verified:
    """A bearer value that names a live token, and whether its ``last_used_at`` is due."""

    principal: Principal
    touch_due: bool


def bearer_digest(bearer_value: str) -> str:
    """The SHA-256 to look a bearer value up by, once its format and checksum hold: a typo
    or a 10 KB header is refused here, before any database work (the length is checked first)."""
    try:
        token_format.check_format(bearer_value)
    except token_format.TokenFormatError as exc:
        raise Unauthorized(f"The bearer token is malformed: {exc}") from None
    return token_format.token_hash(bearer_value)


def lookup(conn: Connection, digest: str, now: datetime) -> Verified:
    """The live token with this digest: one unique-index lookup, compared in constant time."""
    row = repository.token_by_hash(conn, digest)
    if row is None or not token_format.hashes_equal(row.token_hash, digest):
        raise Unauthorized("The bearer token is not valid")
    if row.revoked_at is not None:
        raise Unauthorized("The bearer token was revoked")
    if row.expires_at <= now:
        raise Unauthorized("The bearer token has expired: ask an admin for a new one")
    principal = Principal(tenant_id=row.tenant_id, role=Role(row.role), token_id=row.id)
    due = row.last_used_at is None or row.last_used_at <= now - TOUCH_INTERVAL
    return Verified(principal, due)


def verify(session: Session, bearer_value: str, now: datetime) -> Verified:
    """Check a bearer value: format and checksum first, then the lookup."""
    digest = bearer_digest(bearer_value)  # a malformed value never reaches the database
    return lookup(session.connection(), digest, now)


def record_use(session: Session, token_id: str, now: datetime) -> None:
    """Write ``last_used_at`` unless some request already did within the interval."""
    repository.touch(session, token_id, now, now - TOUCH_INTERVAL)


def authenticate(session: Session, bearer_value: str, now: datetime) -> Principal:
    """The principal a bearer value stands for, in the caller's (writable) unit of work;
    raises Unauthorized saying what is wrong."""
    verified = verify(session, bearer_value, now)
    if verified.touch_due and verified.principal.token_id is not None:
        record_use(session, verified.principal.token_id, now)
    return verified.principal


def bootstrap(
    session: Session, tenant_id: str, expires_at: datetime | None, now: datetime, *, force: bool
) -> TokenSecret:
    """The first admin token, made without a principal (``maestro tokens bootstrap``).
    Refused while a working admin token exists, unless ``force``."""
    if not force and repository.active_admin_exists(session, now):
        raise Conflict("An admin token already exists; use it to create more, or pass --force")
    data = TokenCreate(tenant_id=tenant_id, role=Role.ADMIN, name="bootstrap", expires_at=expires_at)
    return issue(session, data, now, None)
