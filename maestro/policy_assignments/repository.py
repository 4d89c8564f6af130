"""Queries for policy assignments. Functions take the caller's scope, see only its
tenant's assignments and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from maestro.db.policy_tables import PolicyAssignmentRow
from maestro.db.records import columns_of, keyset, many, one, values_of
from maestro.pagination import Page
from maestro.platform.scope import Scope

assignments_t = cast(Table, PolicyAssignmentRow.__table__)


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    id: str
    scope: str
    target: str
    owner: str | None
    match: dict[str, Any] | None
    policy_id: str
    policy_version: int | None
    default_severity: str | None
    created_at: datetime


_ASSIGNMENT = columns_of(assignments_t, AssignmentRecord)


def insert_assignment(scope: Scope, record: AssignmentRecord) -> bool:
    """False when a concurrent request assigned the same target first (the unique
    constraint, inside a savepoint so the transaction goes on)."""
    try:
        with scope.session.begin_nested():
            scope.session.execute(insert(assignments_t), [values_of(record) | {"tenant_id": scope.tenant_id}])
    except IntegrityError:
        return False
    return True


def find_target(scope: Scope, kind: str, target: str) -> AssignmentRecord | None:
    stmt = select(*_ASSIGNMENT).where(
        assignments_t.c.tenant_id == scope.tenant_id,
        assignments_t.c.scope == kind,
        assignments_t.c.target == target,
    )
    return one(AssignmentRecord, scope.session.execute(stmt).first())


def get_assignment(scope: Scope, assignment_id: str) -> AssignmentRecord | None:
    stmt = select(*_ASSIGNMENT).where(
        assignments_t.c.tenant_id == scope.tenant_id, assignments_t.c.id == assignment_id
    )
    return one(AssignmentRecord, scope.session.execute(stmt).first())


def delete_assignment(scope: Scope, assignment_id: str) -> bool:
    result = scope.session.execute(
        delete(assignments_t).where(
            assignments_t.c.tenant_id == scope.tenant_id, assignments_t.c.id == assignment_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_assignments(scope: Scope, page: Page) -> list[AssignmentRecord]:
    stmt = select(*_ASSIGNMENT).where(assignments_t.c.tenant_id == scope.tenant_id)
    page_stmt = keyset(stmt, assignments_t.c.created_at, assignments_t.c.id, page)
    return many(AssignmentRecord, scope.session.execute(page_stmt))


def count(scope: Scope) -> int:
    stmt = select(assignments_t.c.id).where(assignments_t.c.tenant_id == scope.tenant_id)
    return len(scope.session.execute(stmt).all())


_t = assignments_t.c
# Built once: the gate runs it on every read, and building a select costs more than running it.
_CANDIDATES = (
    select(*_ASSIGNMENT)
    .where(
        _t.tenant_id == bindparam("tenant_id"),
        (_t.scope == "tenant")
        | (_t.scope == "metadata")
        | ((_t.scope == "owner") & (_t.target == bindparam("owner"))),
    )
    .order_by(_t.created_at, _t.id)
)


def candidates(scope: Scope, owner: str) -> list[AssignmentRecord]:
    """The assignments that may apply to a run of ``owner``: the tenant default, that
    owner's, and every metadata match, oldest first."""
    rows = scope.session.execute(_CANDIDATES, {"tenant_id": scope.tenant_id, "owner": owner})
    return many(AssignmentRecord, rows)
