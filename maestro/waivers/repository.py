"""Queries for waivers. Functions take the caller's scope, see only its tenant's waivers
and never commit. A waiver row is inserted once and later only revoked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from maestro.db.records import columns_of, keyset, many, one, values_of
from maestro.db.tables import ArtifactRow, ComponentRow
from maestro.db.waiver_tables import WaiverRow
from maestro.pagination import Page
from maestro.platform.scope import Scope

waivers_t = cast(Table, WaiverRow.__table__)
components_t = cast(Table, ComponentRow.__table__)
artifacts_t = cast(Table, ArtifactRow.__table__)


@dataclass(frozen=True, slots=True)
class WaiverRecord:
    id: str
    rule: str
    scope: str
    run_id: str | None
    owner: str | None
    match_metadata: dict[str, Any] | None
    purl: str | None
    purl_base: str | None
    purl_version: str | None
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


@dataclass(frozen=True, slots=True)
class WaiverFilter:
    """``active``: True, only waivers in force at ``at``; False, only those not."""

    rule: str | None = None
    run_id: str | None = None
    active: bool | None = None


_WAIVER = columns_of(waivers_t, WaiverRecord)


def insert_waiver(scope: Scope, record: WaiverRecord) -> None:
    scope.session.execute(insert(waivers_t), [values_of(record) | {"tenant_id": scope.tenant_id}])


def get_waiver(scope: Scope, waiver_id: str, *, for_update: bool = False) -> WaiverRecord | None:
    stmt = select(*_WAIVER).where(waivers_t.c.tenant_id == scope.tenant_id, waivers_t.c.id == waiver_id)
    if for_update:
        stmt = stmt.with_for_update()
    return one(WaiverRecord, scope.session.execute(stmt).first())


def revoke(scope: Scope, waiver_id: str, at: datetime, by: str) -> bool:
    """Set the revocation once: False when it was already set (or there is no such waiver)."""
    w = waivers_t.c
    result = scope.session.execute(
        update(waivers_t)
        .where(w.tenant_id == scope.tenant_id, w.id == waiver_id, w.revoked_at.is_(None))
        .values(revoked_at=at, revoked_by=by)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _in_force(at: datetime) -> ColumnElement[bool]:
    """Created by ``at``, not yet expired at ``at``, and not revoked by then."""
    w = waivers_t.c
    return and_(w.created_at <= at, w.expires_at > at, or_(w.revoked_at.is_(None), w.revoked_at > at))


def list_waivers(scope: Scope, where: WaiverFilter, page: Page, at: datetime) -> list[WaiverRecord]:
    w = waivers_t.c
    stmt = select(*_WAIVER).where(w.tenant_id == scope.tenant_id)
    if where.rule is not None:
        stmt = stmt.where(w.rule == where.rule)
    if where.run_id is not None:
        stmt = stmt.where(w.run_id == where.run_id)
    if where.active is True:
        stmt = stmt.where(_in_force(at))
    elif where.active is False:
        stmt = stmt.where(~_in_force(at))
    return many(WaiverRecord, scope.session.execute(keyset(stmt, w.created_at, w.id, page)))


def count_in_force(scope: Scope, kinds: tuple[str, ...], at: datetime) -> int:
    w = waivers_t.c
    stmt = select(func.count()).where(w.tenant_id == scope.tenant_id, w.scope.in_(kinds), _in_force(at))
    return int(scope.session.execute(stmt).scalar_one())


def _component_of_run(run_id: str | BindParameter[Any]) -> ColumnElement[bool]:
    """The run has a visible component with the waiver's purl (any version when it names
    none): ``diff_key`` is the component's ``purl_base`` whenever it has one, so this is a
    range of the ``(run_id, diff_key)`` index."""
    c, w = components_t.c, waivers_t.c
    return exists(
        select(c.id)
        .join(artifacts_t, artifacts_t.c.id == c.artifact_id)
        .where(
            c.run_id == run_id,
            c.diff_key == w.purl_base,
            artifacts_t.c.content_digest.is_not(None),
            or_(w.purl_version.is_(None), c.version == w.purl_version),
        )
    )


def _in_force_for_run_statement() -> Select[Any]:
    """One statement for the gate's lookup, built once with bind parameters (the gate runs
    it on every evaluation): the run's own waivers, every ``match`` waiver, and ``purl``
    waivers naming one of the run's components, all in force at ``:at``."""
    w = waivers_t.c
    run_id: BindParameter[str] = bindparam("run_id")
    at: BindParameter[datetime] = bindparam("at")
    return (
        select(*_WAIVER)
        .where(
            w.tenant_id == bindparam("tenant_id"),
            or_(
                and_(w.scope == "run", w.run_id == run_id),
                w.scope == "match",
                and_(w.scope == "purl", _component_of_run(run_id)),
            ),
            w.created_at <= at,
            w.expires_at > at,
            or_(w.revoked_at.is_(None), w.revoked_at > at),
        )
        .order_by(w.created_at, w.id)
    )


_IN_FORCE_FOR_RUN = _in_force_for_run_statement()


def in_force_for_run(scope: Scope, run_id: str, at: datetime) -> list[WaiverRecord]:
    """The waivers in force at ``at`` that name the run or one of its components, and every
    ``match`` waiver in force (the caller decides which of those match the run)."""
    params = {"tenant_id": scope.tenant_id, "run_id": run_id, "at": at}
    return many(WaiverRecord, scope.session.execute(_IN_FORCE_FOR_RUN, params))


def in_force_for_runs(scope: Scope, run_ids: Sequence[str], at: datetime) -> dict[str, list[WaiverRecord]]:
    """``in_force_for_run`` for many runs in two queries (the runs' own and every ``match``
    waiver; the ``purl`` waivers naming a component of each run), each run's list in
    creation order. ``match`` waivers are offered to every run, as there."""
    w, c = waivers_t.c, components_t.c
    out: dict[str, list[WaiverRecord]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return out
    direct = (
        select(*_WAIVER)
        .where(
            w.tenant_id == scope.tenant_id,
            or_(and_(w.scope == "run", w.run_id.in_(run_ids)), w.scope == "match"),
            _in_force(at),
        )
        .order_by(w.created_at, w.id)
    )
    for record in many(WaiverRecord, scope.session.execute(direct)):
        for run_id in [record.run_id] if record.scope == "run" and record.run_id is not None else run_ids:
            out[run_id].append(record)
    by_component = (
        select(c.run_id, *_WAIVER)
        .join(components_t, c.diff_key == w.purl_base)
        .join(artifacts_t, artifacts_t.c.id == c.artifact_id)
        .where(
            w.tenant_id == scope.tenant_id,
            w.scope == "purl",
            c.run_id.in_(run_ids),
            artifacts_t.c.content_digest.is_not(None),
            or_(w.purl_version.is_(None), c.version == w.purl_version),
            _in_force(at),
        )
    )
    seen: set[tuple[str, str]] = set()  # a run with two matching components: listed once
    for row in scope.session.execute(by_component):
        run_id, record = row[0], WaiverRecord(*row[1:])
        if (run_id, record.id) not in seen:
            seen.add((run_id, record.id))
            out[run_id].append(record)
    for records in out.values():
        records.sort(key=lambda r: (r.created_at, r.id))
    return out
