"""Run lineage: the rules for ``depends_on`` and the walk up or down the graph.

A run's dependencies are runs of its own tenant; another tenant's run is refused
exactly like an id that does not exist, so the answer reveals nothing about it.
The graph stays acyclic: a change that would close a cycle is refused with the
cycle's path. Only an update can close one (a new run has no dependants yet), and
on PostgreSQL it checks under a per-tenant advisory lock, so two concurrent
updates cannot each pass the check and together close a cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from maestro.errors import RunNotFound, ValidationFailed
from maestro.models import LineageDirection, LineageRun, RunLineage, RunStatus
from maestro.platform.scope import Scope
from maestro.runs import repository

MAX_DEPTH = 50
DEFAULT_DEPTH = 10
MAX_LINEAGE_RUNS = 1000


def check_known(scope: Scope, depends_on: Sequence[str]) -> None:
    """422 naming every id that is not a run of this tenant."""
    unknown = sorted(set(depends_on) - repository.existing_run_ids(scope, depends_on))
    if unknown:
        raise ValidationFailed.for_field(
            "depends_on", f"no such run: {', '.join(unknown)}", unknown_ids=unknown
        )


def check_update(scope: Scope, run_id: str, depends_on: Sequence[str]) -> None:
    """The rules for replacing ``run_id``'s dependencies; call under ``lock``."""
    if run_id in depends_on:
        raise ValidationFailed.for_field("depends_on", f"a run cannot depend on itself ({run_id})")
    check_known(scope, depends_on)
    cycle = _cycle_through(repository.downstream_edges(scope, run_id), run_id, set(depends_on))
    if cycle:
        raise ValidationFailed.for_field(
            "depends_on", f"would make a cycle: {' -> '.join(cycle)}", cycle=cycle
        )


def lock(scope: Scope) -> None:
    repository.lock_dependencies(scope)


def _cycle_through(edges: list[tuple[str, str]], run_id: str, depends_on: set[str]) -> list[str] | None:
    """``run_id -> d -> ... -> run_id`` if some new dependency ``d`` already depends on
    ``run_id`` (a shortest such path, the smallest ``d`` first on ties), else None."""
    dependants: dict[str, list[str]] = {}
    for run, dependency in edges:
        dependants.setdefault(dependency, []).append(run)
    parent: dict[str, str] = {}
    queue = deque([run_id])
    while queue:  # breadth first from run_id down to the first new dependency met
        here = queue.popleft()
        for below in sorted(dependants.get(here, ())):
            if below in parent or below == run_id:
                continue
            parent[below] = here
            if below in depends_on:
                path = [below]
                while path[-1] != run_id:
                    path.append(parent[path[-1]])
                return [run_id, *path]
            queue.append(below)
    return None


def lineage(scope: Scope, run_id: str, direction: LineageDirection, depth: int) -> RunLineage:
    """The runs within ``depth`` hops, nearest first, at most ``MAX_LINEAGE_RUNS`` of them."""
    cap = MAX_LINEAGE_RUNS
    if not repository.run_exists(scope, run_id):
        raise RunNotFound()
    upstream = direction is LineageDirection.UP
    rows = repository.lineage(scope, run_id, upstream=upstream, depth=depth, cap=cap)
    truncated = len(rows) > cap
    rows = rows[:cap]
    listed = {row.id for row in rows}
    depends_on = repository.dependencies_of(scope, [run_id, *listed])
    edges = sorted(
        [run, dependency]
        for run, dependencies in depends_on.items()
        for dependency in dependencies
        if dependency in listed or dependency == run_id
    )
    runs = [
        LineageRun(
            id=row.id,
            name=row.name,
            owner=row.owner,
            status=RunStatus(row.status),
            depth=row.depth,
            depends_on=depends_on.get(row.id, []),
        )
        for row in rows
    ]
    return RunLineage(
        run_id=run_id, direction=direction, depth=depth, runs=runs, edges=edges, truncated=truncated
    )
