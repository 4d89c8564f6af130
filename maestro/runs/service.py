"""Runs: create, read, list, and update under the lifecycle rules.

Lifecycle: ``pending`` may go to any other status (the seed's walkthrough moves
a new run straight to ``succeeded``); ``running`` may go to ``succeeded``,
``failed`` or ``cancelled``; those three are terminal. Reaching a terminal
status stamps ``finished_at`` unless the client gave it.

An update reads the run under a row lock (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), checks
``If-Match`` against its ``version`` (also its ETag), and writes with a
compare-and-swap on that version as a second line of defence, so a concurrent
writer is never silently overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from maestro.errors import (
    InvalidTransition,
    PreconditionFailed,
    RunNotFound,
    ValidationFailed,
)
from maestro.ids import uuid7
from maestro.models import TERMINAL_STATUSES, Run, RunCreate, RunStatus, RunUpdate
from maestro.pagination import Cursor, Page
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.runs import lineage, repository
from maestro.runs.repository import RunFilter, RunRecord
from maestro.services.rows import run_from_row

MAX_METADATA_BYTES = 1024 * 1024
# Clocks disagree a little; a timestamp further ahead than this is a mistake, not skew.
CLOCK_SKEW = timedelta(minutes=5)
_CAS_ATTEMPTS = 5

ALLOWED_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset(
        {RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.RUNNING: frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}
_NOT_NULL_ON_UPDATE = (
    "name",
    "status",
    "related_entity_ids",
    "related_decision_ids",
    "metadata",
    "depends_on",
)


def etag(version: int) -> str:
    return f'"v{version}"'


def _not_in_future(field: str, value: datetime, now: datetime) -> None:
    if value > now + CLOCK_SKEW:
        raise ValidationFailed.for_field(
            field, f"is in the future ({value.isoformat()} > now {now.isoformat()})"
        )


def create_run(uow: UnitOfWork, data: RunCreate) -> tuple[Run, int]:
    now = uow.clock()
    started_at = data.started_at.astimezone(UTC) if data.started_at else now
    _not_in_future("started_at", started_at, now)
    lineage.check_known(uow, data.depends_on)  # a new run has no dependants: no cycle to close
    run_id = uuid7()
    record = RunRecord(
        id=run_id,
        name=data.name,
        owner=data.owner,
        status=data.status.value,
        started_at=started_at,
        finished_at=max(now, started_at) if data.status in TERMINAL_STATUSES else None,
        cost_estimate=data.cost_estimate,
        cost_actual=data.cost_actual,
        related_entity_ids=data.related_entity_ids,
        related_decision_ids=data.related_decision_ids,
        metadata=data.metadata,
        updated_at=now,
        version=1,
    )
    repository.insert_run(uow, record)
    repository.set_links(uow, run_id, "entity", data.related_entity_ids, started_at, replace=False)
    repository.set_links(uow, run_id, "decision", data.related_decision_ids, started_at, replace=False)
    repository.set_dependencies(uow, run_id, data.depends_on, replace=False)
    run = run_from_row(record, data.depends_on)
    uow.record("run.create", "run", run_id, run)
    return run, 1


def run_exists(scope: Scope, run_id: str) -> bool:
    return repository.run_exists(scope, run_id)


def get_run(uow: UnitOfWork, run_id: str) -> tuple[Run, int]:
    row = repository.get_run(uow, run_id)
    if row is None:
        raise RunNotFound()
    return run_from_row(row, _depends_on(uow, run_id)), row.version


def _depends_on(scope: Scope, run_id: str) -> list[str]:
    return repository.dependencies_of(scope, [run_id]).get(run_id, [])


def list_runs(uow: UnitOfWork, where: RunFilter, page: Page) -> tuple[list[Run], Cursor | None]:
    rows = repository.list_runs(uow, where, page)
    depends_on = repository.dependencies_of(uow, [r.id for r in rows[: page.limit]])
    runs = [run_from_row(r, depends_on.get(r.id)) for r in rows[: page.limit]]
    after = Cursor(runs[-1].started_at, runs[-1].id) if len(rows) > page.limit else None
    return runs, after


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge patch, without mutating either argument."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        elif isinstance(value, dict):
            result[key] = merge_patch({}, value)
        else:
            result[key] = value
    return result


def check_transition(current: RunStatus, new: RunStatus) -> None:
    if new == current:
        return
    allowed = ALLOWED_TRANSITIONS[current]
    if new in allowed:
        return
    if current in TERMINAL_STATUSES:
        raise InvalidTransition(
            f"Run is '{current.value}', a terminal status; it cannot change to '{new.value}' "
            "(allowed transitions: none)"
        )
    choices = ", ".join(sorted(s.value for s in allowed))
    raise InvalidTransition(
        f"Run status cannot change from '{current.value}' to '{new.value}' (allowed transitions: {choices})"
    )


def _finished_at(row: Any, data: RunUpdate, status: RunStatus, now: datetime) -> datetime | None:
    """The run's finished_at after the update: given, kept, or stamped on reaching the end."""
    sent = "finished_at" in data.model_fields_set
    if sent and data.finished_at is None and status in TERMINAL_STATUSES:
        raise ValidationFailed.for_field("finished_at", f"may not be null on a '{status.value}' run")
    finished_at = data.finished_at if sent else row.finished_at
    if finished_at is None:
        return max(now, row.started_at) if status in TERMINAL_STATUSES else None
    if status not in TERMINAL_STATUSES:
        raise ValidationFailed.for_field(
            "finished_at", f"can only be set when the run ends (status is '{status.value}')"
        )
    if sent:
        _not_in_future("finished_at", finished_at, now)
    if finished_at < row.started_at:
        raise ValidationFailed.for_field(
            "finished_at", f"must not be before started_at ({row.started_at.isoformat()})"
        )
    return finished_at


def _changes(row: Any, data: RunUpdate, now: datetime) -> dict[str, Any]:
    """The columns an update changes (empty when it changes nothing); raises on a broken rule."""
    sent = data.model_fields_set
    for field in _NOT_NULL_ON_UPDATE:
        if field in sent and getattr(data, field) is None:
            raise ValidationFailed.for_field(field, "may not be null")
    status = data.status or RunStatus(row.status)
    check_transition(RunStatus(row.status), status)
    values: dict[str, Any] = {
        "status": status.value,
        "finished_at": _finished_at(row, data, status, now),
    }
    for field in ("name", "cost_estimate", "cost_actual", "related_entity_ids", "related_decision_ids"):
        if field in sent:
            values[field] = getattr(data, field)
    if data.metadata is not None:
        merged = merge_patch(row.metadata, data.metadata)
        if len(orjson.dumps(merged)) > MAX_METADATA_BYTES:
            raise ValidationFailed.for_field(
                "metadata", f"would exceed {MAX_METADATA_BYTES} bytes once merged"
            )
        values["metadata"] = merged
    return {key: value for key, value in values.items() if getattr(row, key) != value}


def update_run(
    uow: UnitOfWork, run_id: str, data: RunUpdate, *, if_match: Sequence[int] | None = None
) -> tuple[Run, int]:
    """Apply ``data``; with ``if_match`` (ETag versions) only if the run is still at one of them.
    New dependencies are checked (known, not itself, no cycle) under the tenant's
    dependency lock, taken before the run's row lock so writers always lock in one order."""
    if data.depends_on is not None:
        lineage.lock(uow)
    for _ in range(_CAS_ATTEMPTS):
        row = repository.get_run(uow, run_id, for_update=True)
        if row is None:
            raise RunNotFound()
        if if_match is not None and row.version not in if_match:
            raise PreconditionFailed(
                f"Run has changed (current ETag {etag(row.version)}); fetch it again and retry"
            )
        now = uow.clock()
        values = _changes(row, data, now)
        depends_on = current = _depends_on(uow, run_id)
        if data.depends_on is not None and data.depends_on != current:
            lineage.check_update(uow, run_id, data.depends_on)
            depends_on = data.depends_on
        if not values and depends_on == current:  # nothing changes: no write, same ETag
            return run_from_row(row, current), row.version
        values["updated_at"] = now
        if repository.update_run_if_version(uow, run_id, row.version, values):
            for kind in ("entity", "decision"):
                ids = values.get(f"related_{kind}_ids")
                if ids is not None:
                    repository.set_links(uow, run_id, kind, ids, row.started_at, replace=True)
            if depends_on != current:
                repository.set_dependencies(uow, run_id, depends_on, replace=True)
            fresh = repository.get_run(uow, run_id)
            assert fresh is not None
            run = run_from_row(fresh, depends_on)
            uow.record("run.update", "run", run_id, run)
            return run, fresh.version
    raise PreconditionFailed("Run is being changed concurrently; retry the update")
