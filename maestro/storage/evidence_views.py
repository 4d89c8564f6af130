"""Queries for what lives beside an artifact's bounded evidence view: the full
evidence, the archive members, and the artifact's indexed components.

Lists and manifests read ``artifacts.evidence`` only; these tables are read by
the endpoints that page through the bulk, one artifact at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, func, insert, literal, select, union_all
from sqlalchemy.orm import Session

from maestro.db.tables import ArtifactEvidenceRow, ArtifactMemberRow, ComponentRow
from maestro.pagination import Page
from maestro.storage import keyset
from maestro.storage.evidence import visible

details_t = cast(Table, ArtifactEvidenceRow.__table__)
members_t = cast(Table, ArtifactMemberRow.__table__)
components_t = cast(Table, ComponentRow.__table__)

_INSERT_BATCH = 1000
_DIFF_BATCH = 5000


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


def _side(run_id: str, side: int, dialect: str) -> Any:
    """One run's rows with the diff key (purl without version, or ``name:<name>``); on
    PostgreSQL in the "C" collation so both databases sort by code point, as Python does."""
    c = components_t.c
    ident: Any = func.coalesce(c.purl_base, literal("name:") + c.name)
    version: Any = c.version
    if dialect == "postgresql":
        ident, version = ident.collate("C"), version.collate("C")
    return visible(
        select(literal(side).label("side"), ident.label("key"), c.name, c.purl, version.label("version"))
    ).where(c.run_id == run_id)


def diff_rows(session: Session, base_run_id: str, head_run_id: str) -> Iterator[tuple[Any, ...]]:
    """Both runs' components as one stream ordered by (key, side, version), key in code
    point order on both databases (versions too), fetched in batches (a server-side cursor
    on PostgreSQL) as plain (side, key, name, purl, version) tuples."""
    dialect = session.get_bind().dialect.name
    both = union_all(_side(base_run_id, 0, dialect), _side(head_run_id, 1, dialect)).subquery()
    stmt = select(both).order_by(both.c.key, both.c.side, both.c.version)
    result = session.connection().execute(stmt, execution_options={"yield_per": _DIFF_BATCH})
    for partition in result.partitions():
        yield from partition
