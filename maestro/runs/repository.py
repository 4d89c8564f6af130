"""Queries for runs and their entity/decision links. Functions take the caller's scope,
see only its tenant's rows (another tenant's run is simply not there) and never
commit; reads return ``RunRecord``s."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, delete, func, insert, literal, select, text, update

from maestro.db.records import columns_of, keyset, many, one, values_of
from maestro.db.tables import RunDependencyRow, RunLinkRow, RunRow
from maestro.pagination import Page
from maestro.platform.scope import Scope

runs_t = cast(Table, RunRow.__table__)
links_t = cast(Table, RunLinkRow.__table__)
deps_t = cast(Table, RunDependencyRow.__table__)


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


def get_runs(scope: Scope, run_ids: Collection[str]) -> list[RunRecord]:
    """Those of ``run_ids`` that are runs of this tenant, in id order."""
    if not run_ids:
        return []
    stmt = select(*_RUN).where(runs_t.c.tenant_id == scope.tenant_id, runs_t.c.id.in_(run_ids))
    return many(RunRecord, scope.session.execute(stmt.order_by(runs_t.c.id)))


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


# ------------------------------------------------------------ lineage


@dataclass(frozen=True, slots=True)
class LineageRow:
    """A run reached by a lineage walk, at its fewest hops from the start."""

    id: str
    name: str
    owner: str
    status: str
    depth: int


def lock_dependencies(scope: Scope) -> None:
    """Serialise this tenant's dependency writes until the transaction ends, so two
    concurrent changes cannot each pass the cycle check and together close a cycle.
    PostgreSQL only: SQLite's single writer already serialises them."""
    session = scope.session
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"maestro.run_dependencies:{scope.tenant_id}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def existing_run_ids(scope: Scope, run_ids: Collection[str]) -> set[str]:
    """Those of ``run_ids`` that are runs of this tenant."""
    if not run_ids:
        return set()
    stmt = select(runs_t.c.id).where(runs_t.c.tenant_id == scope.tenant_id, runs_t.c.id.in_(run_ids))
    return set(scope.session.execute(stmt).scalars())


def dependencies_of(scope: Scope, run_ids: Collection[str]) -> dict[str, list[str]]:
    """Each run's dependencies, sorted (a run without any is absent)."""
    found: dict[str, list[str]] = {}
    if not run_ids:
        return found
    stmt = (
        select(deps_t.c.run_id, deps_t.c.depends_on_id)
        .where(deps_t.c.tenant_id == scope.tenant_id, deps_t.c.run_id.in_(run_ids))
        .order_by(deps_t.c.run_id, deps_t.c.depends_on_id)
    )
    for run_id, depends_on_id in scope.session.execute(stmt):
        found.setdefault(run_id, []).append(depends_on_id)
    return found


def set_dependencies(scope: Scope, run_id: str, depends_on: Iterable[str], *, replace: bool) -> None:
    session = scope.session
    if replace:
        session.execute(
            delete(deps_t).where(deps_t.c.tenant_id == scope.tenant_id, deps_t.c.run_id == run_id)
        )
    rows = [{"tenant_id": scope.tenant_id, "run_id": run_id, "depends_on_id": d} for d in depends_on]
    if rows:
        session.execute(insert(deps_t), rows)


def downstream_edges(scope: Scope, run_id: str) -> list[tuple[str, str]]:
    """Every ``(run, dependency)`` edge below ``run_id``: the edges into it and into each
    run that depends on it, transitively. One recursive CTE; each hop is a lookup on the
    (tenant_id, depends_on_id, run_id) index, each run visited once."""
    tenant = scope.tenant_id
    down = select(literal(run_id).label("id")).cte("down", recursive=True)
    step = select(deps_t.c.run_id).join(
        down, (deps_t.c.tenant_id == tenant) & (deps_t.c.depends_on_id == down.c.id)
    )
    down = down.union(step)
    stmt = select(deps_t.c.run_id, deps_t.c.depends_on_id).join(
        down, (deps_t.c.tenant_id == tenant) & (deps_t.c.depends_on_id == down.c.id)
    )
    return [(a, b) for a, b in scope.session.execute(stmt)]


def lineage(scope: Scope, run_id: str, *, upstream: bool, depth: int, cap: int) -> list[LineageRow]:
    """Runs within ``depth`` hops of ``run_id`` (up: its dependencies; down: its
    dependants), each at its fewest hops, nearest first then by id, at most ``cap + 1``
    (one more than the cap says the answer was truncated)."""
    stmt = lineage_query(scope.tenant_id, run_id, upstream=upstream, depth=depth, limit=cap + 1)
    return many(LineageRow, scope.session.execute(stmt))


def lineage_query(tenant: str, run_id: str, *, upstream: bool, depth: int, limit: int) -> Select[Any]:
    """One recursive CTE whose steps are index lookups: the primary key upstream, the
    (tenant_id, depends_on_id, run_id) index downstream. ``UNION`` drops repeated
    (run, hops) pairs, so a diamond is walked once a level."""
    here, there = (
        (deps_t.c.run_id, deps_t.c.depends_on_id) if upstream else (deps_t.c.depends_on_id, deps_t.c.run_id)
    )
    seed = select(there.label("id"), literal(1).label("hops")).where(
        deps_t.c.tenant_id == tenant, here == run_id
    )
    walk = seed.cte("walk", recursive=True)
    step = (
        select(there, walk.c.hops + 1)
        .join(walk, (deps_t.c.tenant_id == tenant) & (here == walk.c.id))
        .where(walk.c.hops < depth)
    )
    walk = walk.union(step)
    nearest = (
        select(walk.c.id, func.min(walk.c.hops).label("hops"))
        .where(walk.c.id != run_id)
        .group_by(walk.c.id)
        .subquery("nearest")
    )
    return (
        select(runs_t.c.id, runs_t.c.name, runs_t.c.owner, runs_t.c.status, nearest.c.hops)
        .join(nearest, (runs_t.c.tenant_id == tenant) & (runs_t.c.id == nearest.c.id))
        .order_by(nearest.c.hops, runs_t.c.id)
        .limit(limit)
    )


def dependants_of(scope: Scope, run_ids: Collection[str]) -> list[str]:
    """The runs that depend directly on any of ``run_ids`` (index-backed, downstream)."""
    if not run_ids:
        return []
    stmt = (
        select(deps_t.c.run_id)
        .where(deps_t.c.tenant_id == scope.tenant_id, deps_t.c.depends_on_id.in_(list(run_ids)))
        .distinct()
    )
    return sorted(scope.session.execute(stmt).scalars())
