"""Queries for recorded gate evaluations and the evaluator's per-tenant cursor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from maestro.db.audit_tables import AuditEventRow, AuditHeadRow
from maestro.db.records import columns_of, keyset, many
from maestro.db.tables import ArtifactRow, RunRow
from maestro.db.verdict_tables import GateCursorRow, GateEvaluationRow
from maestro.pagination import Page
from maestro.platform.scope import Scope

evaluations_t = cast(Table, GateEvaluationRow.__table__)
cursors_t = cast(Table, GateCursorRow.__table__)
events_t = cast(Table, AuditEventRow.__table__)
heads_t = cast(Table, AuditHeadRow.__table__)
runs_t = cast(Table, RunRow.__table__)
artifacts_t = cast(Table, ArtifactRow.__table__)


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    id: str
    run_id: str
    policy_id: str
    policy_version: int
    policy_digest: str
    passed: bool
    input_digest: str
    facts_digest: str
    outcome_digest: str
    evaluated_at: datetime
    trigger: str
    result: dict[str, Any]
    vsa: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LoggedChange:
    """One audit event as the evaluator reads it."""

    index: int
    action: str
    object_type: str | None
    object_id: str | None


_EVALUATION = columns_of(evaluations_t, EvaluationRecord)


_INSERT = insert(evaluations_t)


def insert_evaluations(scope: Scope, records: Sequence[EvaluationRecord]) -> None:
    """One multi-row insert for a chunk's recorded evaluations."""
    if records:
        rows = [
            {
                "tenant_id": scope.tenant_id,
                **{f: getattr(r, f) for f in EvaluationRecord.__dataclass_fields__},
            }
            for r in records
        ]
        scope.session.execute(_INSERT, rows)


def list_evaluations(scope: Scope, run_id: str, page: Page) -> list[EvaluationRecord]:
    stmt = select(*_EVALUATION).where(
        evaluations_t.c.tenant_id == scope.tenant_id, evaluations_t.c.run_id == run_id
    )
    ordered = keyset(stmt, evaluations_t.c.evaluated_at, evaluations_t.c.id, page)
    return many(EvaluationRecord, scope.session.execute(ordered))


def last_outcomes(scope: Scope, run_ids: Sequence[str]) -> dict[str, str]:
    """Each run's newest recorded ``outcome_digest`` (ids are time-ordered UUIDv7s)."""
    if not run_ids:
        return {}
    newest = (
        select(evaluations_t.c.run_id, func.max(evaluations_t.c.id).label("id"))
        .where(evaluations_t.c.tenant_id == scope.tenant_id, evaluations_t.c.run_id.in_(list(run_ids)))
        .group_by(evaluations_t.c.run_id)
        .subquery()
    )
    stmt = select(evaluations_t.c.run_id, evaluations_t.c.outcome_digest).join(
        newest, evaluations_t.c.id == newest.c.id
    )
    return {row.run_id: row.outcome_digest for row in scope.session.execute(stmt)}


def tree_sizes(session: Session) -> dict[str, int]:
    """Every tenant's audit tree size."""
    return {row.tenant_id: row.size for row in session.execute(select(heads_t.c.tenant_id, heads_t.c.size))}


def cursors(session: Session) -> dict[str, int]:
    return {row.tenant_id: row.next_index for row in session.execute(select(cursors_t))}


def advance_cursor(session: Session, tenant_id: str, seen: int, to: int) -> bool:
    """Move the tenant's cursor from ``seen`` to ``to``; False when another evaluator
    (a replica) moved it first."""
    if seen == 0:  # the tenant's first batch: the row may not exist yet (racing creators)
        maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        created: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            maker(cursors_t)
            .values(tenant_id=tenant_id, next_index=to)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        if created.rowcount:
            return True
    moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(cursors_t)
        .where(cursors_t.c.tenant_id == tenant_id, cursors_t.c.next_index == seen)
        .values(next_index=to)
    )
    return bool(moved.rowcount)


def changes(session: Session, tenant_id: str, start: int, limit: int) -> list[LoggedChange]:
    stmt = (
        select(events_t.c.idx, events_t.c.action, events_t.c.object_type, events_t.c.object_id)
        .where(events_t.c.tenant_id == tenant_id, events_t.c.idx >= start)
        .order_by(events_t.c.idx)
        .limit(limit)
    )
    return [LoggedChange(r.idx, r.action, r.object_type, r.object_id) for r in session.execute(stmt)]


def runs_of_artifacts(scope: Scope, artifact_ids: Iterable[str]) -> set[str]:
    ids = list(set(artifact_ids))
    if not ids:
        return set()
    stmt = select(artifacts_t.c.run_id).where(
        artifacts_t.c.tenant_id == scope.tenant_id, artifacts_t.c.id.in_(ids)
    )
    return {row.run_id for row in scope.session.execute(stmt)}


def run_ids_after(scope: Scope, after: str, limit: int) -> list[str]:
    """The tenant's run ids in id order after ``after``: a walk over every run."""
    stmt = (
        select(runs_t.c.id)
        .where(runs_t.c.tenant_id == scope.tenant_id, runs_t.c.id > after)
        .order_by(runs_t.c.id)
        .limit(limit)
    )
    return [row.id for row in scope.session.execute(stmt)]
