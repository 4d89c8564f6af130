"""Queries for runs and their entity/decision links. Functions take the caller's scope,
see only its tenant's rows (another tenant's run is simply not there) and never
commit; reads return ``RunRecord``s."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update

from maestro.db.records import columns_of, keyset, many, one, values_of
from maestro.db.tables import RunLinkRow, RunRow
from maestro.pagination import Page
from maestro.platform.scope import Scope

runs_t = cast(Table, RunRow.__table__)
links_t = cast(Table, RunLinkRow.__table__)


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    name: str
    owner: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    cost_estimate: float | None
    cost_actual: float | None
    related_entity_ids: list[str]
    related_decision_ids: list[str]
    metadata: dict[str, Any]
    updated_at: datetime
    version: int


_RUN = columns_of(runs_t, RunRecord)


@dataclass(frozen=True, slots=True)
class RunFilter:
    owner: str | None = None
    status: str | None = None
    entity_id: str | None = None
    decision_id: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


def insert_run(scope: Scope, record: RunRecord) -> None:
    scope.session.execute(insert(runs_t), [values_of(record) | {"tenant_id": scope.tenant_id}])


def set_links(
    scope: Scope,
    run_id: str,
    kind: str,
    target_ids: Iterable[str],
    started_at: datetime,
    *,
    replace: bool,
) -> None:
    session = scope.session
    if replace:
        session.execute(delete(links_t).where(links_t.c.run_id == run_id, links_t.c.kind == kind))
    rows = [
        {
            "run_id": run_id,
            "kind": kind,
            "target_id": t,
            "started_at": started_at,
            "tenant_id": scope.tenant_id,
        }
        for t in dict.fromkeys(target_ids)
    ]
    if rows:
        session.execute(insert(links_t), rows)


def get_run(scope: Scope, run_id: str, *, for_update: bool = False) -> RunRecord | None:
    """One run; ``for_update`` row-locks it on PostgreSQL (SQLite's write lock covers it)."""
    stmt = select(*_RUN).where(runs_t.c.id == run_id, runs_t.c.tenant_id == scope.tenant_id)
    if for_update:
        stmt = stmt.with_for_update()
    return one(RunRecord, scope.session.execute(stmt).first())


def run_exists(scope: Scope, run_id: str) -> bool:
    stmt = select(runs_t.c.id).where(runs_t.c.id == run_id, runs_t.c.tenant_id == scope.tenant_id)
    return scope.session.execute(stmt).first() is not None


def update_run_if_version(scope: Scope, run_id: str, version: int, values: dict[str, Any]) -> bool:
    """Compare-and-swap on ``version``: False when another writer got there first."""
    result = scope.session.execute(
        update(runs_t)
        .where(runs_t.c.id == run_id, runs_t.c.tenant_id == scope.tenant_id, runs_t.c.version == version)
        .values(**values, version=version + 1)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def list_runs(scope: Scope, where: RunFilter, page: Page) -> list[RunRecord]:
    link_filters = [("entity", where.entity_id), ("decision", where.decision_id)]
    stmt = select(*_RUN).where(runs_t.c.tenant_id == scope.tenant_id)
    key, ident = runs_t.c.started_at, runs_t.c.id
    driving = True  # the first link filter drives the scan on its own index
    for kind, target in link_filters:
        if target is None:
            continue
        link = links_t.alias(f"link_{kind}")
        stmt = stmt.join(link, link.c.run_id == runs_t.c.id).where(
            link.c.tenant_id == scope.tenant_id, link.c.kind == kind, link.c.target_id == target
        )
        if driving:
            key, ident = link.c.started_at, link.c.run_id
            driving = False
    if where.owner is not None:
        stmt = stmt.where(runs_t.c.owner == where.owner)
    if where.status is not None:
        stmt = stmt.where(runs_t.c.status == where.status)
    if where.started_after is not None:
        stmt = stmt.where(key >= where.started_after)
    if where.started_before is not None:
        stmt = stmt.where(key < where.started_before)
    return many(RunRecord, scope.session.execute(keyset(stmt, key, ident, page)))
