"""Queries for disclosure packs and their ordered artifact lists. Functions take the
caller's scope, see only its tenant's packs and never commit; reads return ``PackRecord``s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select

from maestro.db.records import columns_of, keyset, many, one, values_of
from maestro.db.tables import DisclosurePackArtifactRow, DisclosurePackRow
from maestro.pagination import Page
from maestro.platform.scope import Scope

packs_t = cast(Table, DisclosurePackRow.__table__)
pack_items_t = cast(Table, DisclosurePackArtifactRow.__table__)


@dataclass(frozen=True, slots=True)
class PackRecord:
    id: str
    run_id: str
    summary: str
    created_at: datetime
    metadata: dict[str, Any]


_PACK = columns_of(packs_t, PackRecord)


def insert_pack(scope: Scope, record: PackRecord, artifact_ids: Sequence[str]) -> None:
    scope.session.execute(insert(packs_t), [values_of(record) | {"tenant_id": scope.tenant_id}])
    if artifact_ids:
        scope.session.execute(
            insert(pack_items_t),
            [{"pack_id": record.id, "position": i, "artifact_id": a} for i, a in enumerate(artifact_ids)],
        )


def get_pack(scope: Scope, pack_id: str) -> PackRecord | None:
    stmt = select(*_PACK).where(packs_t.c.tenant_id == scope.tenant_id, packs_t.c.id == pack_id)
    return one(PackRecord, scope.session.execute(stmt).first())


def list_packs(scope: Scope, page: Page, *, run_id: str | None = None) -> list[PackRecord]:
    stmt = select(*_PACK).where(packs_t.c.tenant_id == scope.tenant_id)
    if run_id is not None:
        stmt = stmt.where(packs_t.c.run_id == run_id)
    return many(PackRecord, scope.session.execute(keyset(stmt, packs_t.c.created_at, packs_t.c.id, page)))


def pack_artifact_ids(scope: Scope, pack_ids: Sequence[str]) -> dict[str, list[str]]:
    """The ordered artifact ids of each pack, in one query for a whole page."""
    result: dict[str, list[str]] = {pid: [] for pid in pack_ids}
    if not pack_ids:
        return result
    stmt = (
        select(pack_items_t.c.pack_id, pack_items_t.c.artifact_id)
        .where(pack_items_t.c.pack_id.in_(list(pack_ids)))
        .order_by(pack_items_t.c.pack_id, pack_items_t.c.position)
    )
    for row in scope.session.execute(stmt):
        result[row.pack_id].append(row.artifact_id)
    return result
