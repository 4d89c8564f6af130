"""Policy assignments and the one place that decides which policy judges a run.

Precedence, first that applies wins:

1. a ``metadata`` assignment whose every key matches the run's top-level metadata
   (equal JSON value); of several, the one matching more keys, then the oldest;
2. the ``owner`` assignment for the run's owner;
3. the tenant's default (``tenant`` scope);
4. the built-in ``seed-default``.

The tenant's default severity (for rules neither their policy nor its default gives
one) is the tenant assignment's ``default_severity``, else ``blocking``, whichever
assignment applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from maestro.errors import Conflict, PolicyAssignmentNotFound, ValidationFailed
from maestro.ids import uuid7
from maestro.models import Severity
from maestro.pagination import Cursor, Page
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.policies.contract import AssignmentScope, PolicyAssignment, PolicyAssignmentCreate
from maestro.policy_assignments import repository
from maestro.policy_assignments.repository import AssignmentRecord
from maestro.policy_registry import service as policy_service

MAX_ASSIGNMENTS = 1000


@dataclass(frozen=True, slots=True)
class Resolved:
    """The assignment that applies to a run (None: the built-in default) and the tenant's
    default severity."""

    assignment: AssignmentRecord | None
    tenant_severity: Severity


def _wire(record: AssignmentRecord) -> PolicyAssignment:
    return PolicyAssignment.model_validate(
        {
            "id": record.id,
            "scope": record.scope,
            "policy_id": record.policy_id,
            "policy_version": record.policy_version,
            "owner": record.owner,
            "metadata": record.match,
            "default_severity": record.default_severity,
            "created_at": record.created_at,
        }
    )


def _target(data: PolicyAssignmentCreate) -> tuple[AssignmentScope, str]:
    if data.owner is not None and data.metadata is not None:
        raise ValidationFailed.for_field("metadata", "give owner or metadata, not both")
    if data.default_severity is not None and (data.owner is not None or data.metadata is not None):
        raise ValidationFailed.for_field("default_severity", "is only for the tenant's default assignment")
    if data.owner is not None:
        return AssignmentScope.OWNER, data.owner
    if data.metadata is not None:
        return AssignmentScope.METADATA, orjson.dumps(data.metadata, option=orjson.OPT_SORT_KEYS).decode()
    return AssignmentScope.TENANT, ""


def create_assignment(uow: UnitOfWork, data: PolicyAssignmentCreate) -> PolicyAssignment:
    kind, target = _target(data)
    if not policy_service.policy_exists(uow, data.policy_id):
        raise ValidationFailed.for_field("policy_id", f"policy {data.policy_id!r} does not exist")
    if data.policy_version is not None and not policy_service.policy_exists(
        uow, data.policy_id, data.policy_version
    ):
        raise ValidationFailed.for_field("policy_version", f"policy has no version {data.policy_version}")
    existing = repository.find_target(uow, kind.value, target)
    if existing is not None:
        raise Conflict(f"An assignment for this {kind.value} already exists ({existing.id}); delete it first")
    if repository.count(uow) >= MAX_ASSIGNMENTS:
        raise ValidationFailed.for_field("policy_id", f"a tenant has at most {MAX_ASSIGNMENTS} assignments")
    record = AssignmentRecord(
        id=uuid7(),
        scope=kind.value,
        target=target,
        owner=data.owner,
        match=dict(data.metadata) if data.metadata is not None else None,
        policy_id=data.policy_id,
        policy_version=data.policy_version,
        default_severity=data.default_severity.value if data.default_severity else None,
        created_at=uow.clock(),
    )
    if not repository.insert_assignment(uow, record):
        raise Conflict(f"An assignment for this {kind.value} was just created by another request")
    assignment = _wire(record)
    uow.record("policy_assignment.create", "policy_assignment", record.id, assignment)
    return assignment


def get_assignment(uow: UnitOfWork, assignment_id: str) -> PolicyAssignment:
    record = repository.get_assignment(uow, assignment_id)
    if record is None:
        raise PolicyAssignmentNotFound()
    return _wire(record)


def delete_assignment(uow: UnitOfWork, assignment_id: str) -> None:
    if not repository.delete_assignment(uow, assignment_id):
        raise PolicyAssignmentNotFound()
    uow.record("policy_assignment.delete", "policy_assignment", assignment_id, None)


def list_assignments(uow: UnitOfWork, page: Page) -> tuple[list[PolicyAssignment], Cursor | None]:
    records = repository.list_assignments(uow, page)
    items = [_wire(r) for r in records[: page.limit]]
    after = Cursor(items[-1].created_at, items[-1].id) if len(records) > page.limit else None
    return items, after


def _matches(match: dict[str, Any], metadata: dict[str, Any]) -> bool:
    return all(
        key in metadata and type(metadata[key]) is type(value) and metadata[key] == value
        for key, value in match.items()
    )


def choose(candidates: list[AssignmentRecord], owner: str, metadata: dict[str, Any]) -> Resolved:
    """The precedence above, over ``candidates`` oldest first (pure)."""
    tenant = next((c for c in candidates if c.scope == "tenant"), None)
    severity = Severity(tenant.default_severity) if tenant and tenant.default_severity else Severity.BLOCKING
    matching = [c for c in candidates if c.scope == "metadata" and _matches(c.match or {}, metadata)]
    if matching:
        best = max(matching, key=lambda c: len(c.match or {}))  # max keeps the first (oldest) of equals
        return Resolved(best, severity)
    by_owner = next((c for c in candidates if c.scope == "owner" and c.owner == owner), None)
    return Resolved(by_owner or tenant, severity)


def resolve(scope: Scope, owner: str, metadata: dict[str, Any]) -> Resolved:
    return choose(repository.candidates(scope, owner), owner, metadata)
