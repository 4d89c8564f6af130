"""Queries for policies and their versions. Functions take the caller's scope, see only
its tenant's policies and never commit; a version, once written, is never updated.
Versions carry no tenant of their own: every read of them joins their policy's row on
the scope's tenant, so another tenant's policy id finds no versions whoever calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from maestro.db.policy_tables import PolicyRow, PolicyVersionRow
from maestro.db.records import columns_of, keyset, many, one, values_of
from maestro.pagination import Page
from maestro.platform.scope import Scope

policies_t = cast(Table, PolicyRow.__table__)
versions_t = cast(Table, PolicyVersionRow.__table__)


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VersionRecord:
    policy_id: str
    version: int
    kind: str
    builtin: str | None
    module: str | None
    default_severity: str | None
    rules: list[dict[str, Any]]
    digest: str
    created_at: datetime


_POLICY = columns_of(policies_t, PolicyRecord)
_VERSION = columns_of(versions_t, VersionRecord)


def get_by_name(scope: Scope, name: str, *, for_update: bool = False) -> PolicyRecord | None:
    stmt = select(*_POLICY).where(policies_t.c.tenant_id == scope.tenant_id, policies_t.c.name == name)
    if for_update:
        stmt = stmt.with_for_update()
    return one(PolicyRecord, scope.session.execute(stmt).first())


def get_policy(scope: Scope, policy_id: str) -> PolicyRecord | None:
    stmt = select(*_POLICY).where(policies_t.c.tenant_id == scope.tenant_id, policies_t.c.id == policy_id)
    return one(PolicyRecord, scope.session.execute(stmt).first())


def insert_policy(scope: Scope, record: PolicyRecord) -> bool:
    """False when a concurrent request created a policy of this name first (PostgreSQL:
    the unique constraint, inside a savepoint so the transaction goes on)."""
    try:
        with scope.session.begin_nested():
            scope.session.execute(insert(policies_t), [values_of(record) | {"tenant_id": scope.tenant_id}])
    except IntegrityError:
        return False
    return True


def insert_version(scope: Scope, record: VersionRecord) -> None:
    """The caller has checked that the policy is the scope's (versions carry no tenant)."""
    scope.session.execute(insert(versions_t), [values_of(record)])


def _own_versions(scope: Scope) -> Select[Any]:
    """Versions of the scope's policies only."""
    return (
        select(*_VERSION)
        .join(policies_t, policies_t.c.id == versions_t.c.policy_id)
        .where(policies_t.c.tenant_id == scope.tenant_id)
    )


def list_policies(scope: Scope, page: Page) -> list[PolicyRecord]:
    stmt = select(*_POLICY).where(policies_t.c.tenant_id == scope.tenant_id)
    return many(
        PolicyRecord, scope.session.execute(keyset(stmt, policies_t.c.created_at, policies_t.c.id, page))
    )


def latest_versions(scope: Scope, policy_ids: Sequence[str]) -> dict[str, VersionRecord]:
    """The newest version of each of these (the scope's) policies, in one query."""
    if not policy_ids:
        return {}
    newest = (
        select(versions_t.c.policy_id, func.max(versions_t.c.version).label("version"))
        .where(versions_t.c.policy_id.in_(list(policy_ids)))
        .group_by(versions_t.c.policy_id)
        .subquery()
    )
    stmt = _own_versions(scope).join(
        newest, (versions_t.c.policy_id == newest.c.policy_id) & (versions_t.c.version == newest.c.version)
    )
    return {r.policy_id: r for r in many(VersionRecord, scope.session.execute(stmt))}


def versions(scope: Scope, policy_id: str) -> list[VersionRecord]:
    stmt = _own_versions(scope).where(versions_t.c.policy_id == policy_id).order_by(versions_t.c.version)
    return many(VersionRecord, scope.session.execute(stmt))


def version_in_force(scope: Scope, policy_id: str, version: int | None, at: datetime) -> VersionRecord | None:
    """A pinned version, or the newest one created at or before ``at``."""
    stmt = _own_versions(scope).where(versions_t.c.policy_id == policy_id)
    if version is not None:
        stmt = stmt.where(versions_t.c.version == version)
    else:
        stmt = stmt.where(versions_t.c.created_at <= at).order_by(versions_t.c.version.desc()).limit(1)
    return one(VersionRecord, scope.session.execute(stmt).first())
