"""The Store: the only code that issues SQL.

Functions take the caller's ``Session`` and never commit: the unit of work
belongs to the request (see ``maestro.db.engine.Database``). Reads select
columns, not ORM entities, because row construction dominates list latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, Table, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from maestro.db.tables import (
    ArtifactRow,
    DisclosurePackArtifactRow,
    DisclosurePackRow,
    RunLinkRow,
    RunRow,
)
from maestro.pagination import Order, Page

runs_t = cast(Table, RunRow.__table__)
links_t = cast(Table, RunLinkRow.__table__)
artifacts_t = cast(Table, ArtifactRow.__table__)
packs_t = cast(Table, DisclosurePackRow.__table__)
pack_items_t = cast(Table, DisclosurePackArtifactRow.__table__)


def keyset(stmt: Select[Any], key: ColumnElement[Any], ident: ColumnElement[Any], page: Page) -> Select[Any]:
    """Apply cursor, order and limit (one extra row tells whether a next page exists)."""
    if page.after is not None:
        bound = tuple_(key, ident)
        after = tuple_(page.after.created_at, page.after.id)
        stmt = stmt.where(bound < after if page.order is Order.DESC else bound > after)
    if page.order is Order.DESC:
        stmt = stmt.order_by(key.desc(), ident.desc())
    else:
        stmt = stmt.order_by(key.asc(), ident.asc())
    return stmt.limit(page.limit + 1)


# ---------------------------------------------------------------- runs


@dataclass(frozen=True, slots=True)
class RunFilter:
    owner: str | None = None
    status: str | None = None
    entity_id: str | None = None
    decision_id: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


def insert_run(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(runs_t), [values])


def set_links(
    session: Session,
    run_id: str,
    kind: str,
    target_ids: Iterable[str],
    started_at: datetime,
    *,
    replace: bool,
) -> None:
    if replace:
        session.execute(delete(links_t).where(links_t.c.run_id == run_id, links_t.c.kind == kind))
    rows = [
        {"run_id": run_id, "kind": kind, "target_id": t, "started_at": started_at}
        for t in dict.fromkeys(target_ids)
    ]
    if rows:
        session.execute(insert(links_t), rows)


def get_run(session: Session, run_id: str, *, for_update: bool = False) -> Row[Any] | None:
    """One run; ``for_update`` row-locks it on PostgreSQL (SQLite's write lock covers it)."""
    stmt = select(runs_t).where(runs_t.c.id == run_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).first()


def run_exists(session: Session, run_id: str) -> bool:
    return session.execute(select(runs_t.c.id).where(runs_t.c.id == run_id)).first() is not None


def update_run_if_version(session: Session, run_id: str, version: int, values: dict[str, Any]) -> bool:
    """Compare-and-swap on ``version``: False when another writer got there first."""
    result = session.execute(
        update(runs_t)
        .where(runs_t.c.id == run_id, runs_t.c.version == version)
        .values(**values, version=version + 1)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def list_runs(session: Session, where: RunFilter, page: Page) -> Sequence[Row[Any]]:
    link_filters = [("entity", where.entity_id), ("decision", where.decision_id)]
    stmt = select(runs_t)
    key, ident = runs_t.c.started_at, runs_t.c.id
    driving = True  # the first link filter drives the scan on its own index
    for kind, target in link_filters:
        if target is None:
            continue
        link = links_t.alias(f"link_{kind}")
        stmt = stmt.join(link, link.c.run_id == runs_t.c.id).where(
            link.c.kind == kind, link.c.target_id == target
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
    return session.execute(keyset(stmt, key, ident, page)).all()


# ----------------------------------------------------------- artifacts


def insert_artifact(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(artifacts_t), [values])


def get_artifact(session: Session, artifact_id: str) -> Row[Any] | None:
    return session.execute(select(artifacts_t).where(artifacts_t.c.id == artifact_id)).first()


def list_artifacts(
    session: Session, page: Page, *, run_id: str | None = None, kind: str | None = None
) -> Sequence[Row[Any]]:
    stmt = select(artifacts_t)
    if run_id is not None:
        stmt = stmt.where(artifacts_t.c.run_id == run_id)
    if kind is not None:
        stmt = stmt.where(artifacts_t.c.kind == kind)
    return session.execute(keyset(stmt, artifacts_t.c.created_at, artifacts_t.c.id, page)).all()


def artifacts_of_run(session: Session, run_id: str) -> Sequence[Row[Any]]:
    """Every artifact of a run in creation order (manifest)."""
    stmt = (
        select(artifacts_t)
        .where(artifacts_t.c.run_id == run_id)
        .order_by(artifacts_t.c.created_at, artifacts_t.c.id)
    )
    return session.execute(stmt).all()


def artifact_flags_of_run(session: Session, run_id: str) -> Sequence[Row[Any]]:
    """Only what the release gate reads, from the (run_id, created_at, id) index order."""
    c = artifacts_t.c
    stmt = (
        select(
            c.id,
            c.kind,
            c.sbom_present,
            c.slsa_provenance_present,
            c.risk_assessment_present,
            c.verified_sbom,
            c.verified_slsa_provenance,
            c.verified_risk_assessment,
            c.content_digest,
        )
        .where(c.run_id == run_id)
        .order_by(c.created_at, c.id)
    )
    return list(session.execute(stmt))


def artifact_run_ids(session: Session, artifact_ids: Sequence[str]) -> dict[str, str]:
    """Map each existing id among ``artifact_ids`` to its run."""
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(artifact_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        stmt = select(artifacts_t.c.id, artifacts_t.c.run_id).where(artifacts_t.c.id.in_(chunk))
        found.update({row.id: row.run_id for row in session.execute(stmt)})
    return found


def artifact_ids_of_run(session: Session, run_id: str) -> list[str]:
    return [row.id for row in artifact_flags_of_run(session, run_id)]


# ---------------------------------------------------- disclosure packs


def insert_pack(session: Session, values: dict[str, Any], artifact_ids: Sequence[str]) -> None:
    session.execute(insert(packs_t), [values])
    if artifact_ids:
        session.execute(
            insert(pack_items_t),
            [{"pack_id": values["id"], "position": i, "artifact_id": a} for i, a in enumerate(artifact_ids)],
        )


def get_pack(session: Session, pack_id: str) -> Row[Any] | None:
    return session.execute(select(packs_t).where(packs_t.c.id == pack_id)).first()


def list_packs(session: Session, page: Page, *, run_id: str | None = None) -> Sequence[Row[Any]]:
    stmt = select(packs_t)
    if run_id is not None:
        stmt = stmt.where(packs_t.c.run_id == run_id)
    return session.execute(keyset(stmt, packs_t.c.created_at, packs_t.c.id, page)).all()


def packs_of_run(session: Session, run_id: str) -> Sequence[Row[Any]]:
    stmt = select(packs_t).where(packs_t.c.run_id == run_id).order_by(packs_t.c.created_at, packs_t.c.id)
    return session.execute(stmt).all()


def pack_artifact_ids(session: Session, pack_ids: Sequence[str]) -> dict[str, list[str]]:
    """The ordered artifact ids of each pack, in one query for a whole page."""
    result: dict[str, list[str]] = {pid: [] for pid in pack_ids}
    if not pack_ids:
        return result
    stmt = (
        select(pack_items_t.c.pack_id, pack_items_t.c.artifact_id)
        .where(pack_items_t.c.pack_id.in_(list(pack_ids)))
        .order_by(pack_items_t.c.pack_id, pack_items_t.c.position)
    )
    for row in session.execute(stmt):
        result[row.pack_id].append(row.artifact_id)
    return result
