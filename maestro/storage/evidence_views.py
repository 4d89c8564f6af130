"""Queries for what lives beside an artifact's bounded evidence view: the full
evidence, the archive members, and the artifact's indexed components.

Lists and manifests read ``artifacts.evidence`` only; these tables are read by
the endpoints that page through the bulk, one artifact at a time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Row, Select, Table, insert, select
from sqlalchemy.orm import Session

from maestro.db.tables import ArtifactEvidenceRow, ArtifactMemberRow, ComponentRow
from maestro.pagination import Page
from maestro.storage import keyset
from maestro.storage.evidence import artifacts_t, visible

details_t = cast(Table, ArtifactEvidenceRow.__table__)
members_t = cast(Table, ArtifactMemberRow.__table__)
components_t = cast(Table, ComponentRow.__table__)

_INSERT_BATCH = 1000
_DIFF_BATCH = 20_000
_cursor_names = itertools.count()


def insert_evidence_views(
    session: Session, artifact_id: str, full: dict[str, Any], members: Sequence[dict[str, Any]]
) -> None:
    session.execute(insert(details_t), [{"artifact_id": artifact_id, "evidence": full}])
    for start in range(0, len(members), _INSERT_BATCH):
        chunk = [{"artifact_id": artifact_id, **m} for m in members[start : start + _INSERT_BATCH]]
        session.execute(insert(members_t), chunk)


def evidence_detail(session: Session, artifact_id: str) -> dict[str, Any] | None:
    row = session.execute(select(details_t.c.evidence).where(details_t.c.artifact_id == artifact_id)).first()
    return None if row is None else cast(dict[str, Any], row.evidence)


DETAIL_BATCH = 1000


def evidence_details(session: Session, artifact_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The full evidence of each of ``artifact_ids`` that has one, a query per
    ``DETAIL_BATCH`` ids (bound parameters stay well under SQLite's limit)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(artifact_ids), DETAIL_BATCH):
        chunk = artifact_ids[start : start + DETAIL_BATCH]
        stmt = select(details_t.c.artifact_id, details_t.c.evidence).where(details_t.c.artifact_id.in_(chunk))
        found.update((row.artifact_id, cast(dict[str, Any], row.evidence)) for row in session.execute(stmt))
    return found


def members_page(session: Session, artifact_id: str, after: int | None, limit: int) -> Sequence[Row[Any]]:
    """Members after position ``after`` in archive order (one extra row says whether more exist)."""
    c = members_t.c
    stmt = select(c.position, c.path, c.size, c.skipped, c.evidence).where(c.artifact_id == artifact_id)
    if after is not None:
        stmt = stmt.where(c.position > after)
    return list(session.execute(stmt.order_by(c.position).limit(limit + 1)))


def components_page(session: Session, artifact_id: str, page: Page) -> Sequence[Row[Any]]:
    c = components_t.c
    stmt = visible(select(components_t)).where(c.artifact_id == artifact_id)
    return session.execute(keyset(stmt, c.created_at, c.id, page)).all()


def _visible_artifact_ids(session: Session, run_id: str) -> list[str]:
    a = artifacts_t.c
    stmt = select(a.id).where(a.run_id == run_id, a.content_digest.is_not(None))
    return list(session.execute(stmt).scalars())


def run_diff_query(run_id: str, artifact_ids: Sequence[str]) -> Select[Any]:
    """The query behind ``run_diff_rows`` (a test checks its PostgreSQL plan sorts nothing)."""
    c = components_t.c
    return (
        select(c.diff_key, c.name, c.purl, c.version)
        .where(c.run_id == run_id, c.artifact_id.in_(artifact_ids))
        .order_by(c.diff_key)
    )


def run_diff_rows(session: Session, run_id: str) -> Iterator[tuple[Any, ...]]:
    """One run's visible components as (diff_key, name, purl, version), in diff-key order
    straight from ``ix_components_run_id_diff_key`` (byte order on both databases, as
    Python compares str), fetched in batches (a server-side cursor on PostgreSQL).

    Visibility is the list of the run's artifacts with content, taken first: joining
    ``artifacts`` instead could let the planner pick a hash join and then sort."""
    artifact_ids = _visible_artifact_ids(session, run_id)
    if not artifact_ids:
        return
    yield from _driver_rows(session, run_diff_query(run_id, artifact_ids))


def _driver_rows(session: Session, stmt: Select[Any]) -> Iterator[tuple[Any, ...]]:
    """The driver's own tuples, in batches (a named, server-side cursor on PostgreSQL):
    the columns are plain strings, and SQLAlchemy's row processing cost as much as the
    fetch itself (~3 s of 1M rows at 500k per side)."""
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    raw = cast(Any, connection.connection.driver_connection)
    if connection.dialect.name == "postgresql":
        cursor, args = raw.cursor(name=f"sbom_diff_{next(_cursor_names)}"), compiled.params
    else:
        cursor, args = raw.cursor(), [compiled.params[k] for k in compiled.positiontup or ()]
    try:
        cursor.execute(str(compiled), args)
        while batch := cursor.fetchmany(_DIFF_BATCH):
            yield from batch
    finally:
        cursor.close()


def diff_rows(session: Session, base_run_id: str, head_run_id: str) -> Iterator[tuple[Any, ...]]:
    """Both runs' visible components as (side, diff_key, name, purl, version), side 0 the
    base, in diff-key order: everything sbom-diff reads, as one stream."""
    sides = (
        ((0, *row) for row in run_diff_rows(session, base_run_id)),
        ((1, *row) for row in run_diff_rows(session, head_run_id)),
    )
    return heapq.merge(*sides, key=lambda row: (row[1], row[0]))
