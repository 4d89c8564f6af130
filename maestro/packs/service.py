"""Disclosure packs: a summary of a run plus the exact artifacts it vouches for."""

from __future__ import annotations

from typing import Any

from maestro.artifacts import service as artifact_service
from maestro.errors import DisclosurePackNotFound, RunNotFound, ValidationFailed
from maestro.ids import uuid7
from maestro.models import DisclosurePack, DisclosurePackCreate
from maestro.packs import repository
from maestro.packs.repository import PackRecord
from maestro.pagination import Cursor, Page
from maestro.platform.uow import UnitOfWork
from maestro.runs import service as run_service
from maestro.services.rows import pack_from_row


def _check_artifact_ids(uow: UnitOfWork, run_id: str, artifact_ids: list[str]) -> None:
    """Every listed id must exist and belong to ``run_id``; report each one that does not."""
    owners = artifact_service.artifact_run_ids(uow, artifact_ids)
    errors: list[dict[str, Any]] = []
    for index, artifact_id in enumerate(artifact_ids):
        owner = owners.get(artifact_id)
        if owner is None:
            problem = f"artifact {artifact_id!r} does not exist"
        elif owner != run_id:
            problem = f"artifact {artifact_id!r} belongs to run {owner!r}, not {run_id!r}"
        else:
            continue
        errors.append({"field": f"artifact_ids[{index}]", "message": problem, "artifact_id": artifact_id})
    if errors:
        listed = "; ".join(e["message"] for e in errors)
        raise ValidationFailed(f"artifact_ids: {listed}", errors=errors)


def create_pack(uow: UnitOfWork, data: DisclosurePackCreate) -> DisclosurePack:
    if not run_service.run_exists(uow, data.run_id):
        raise RunNotFound()
    if data.artifact_ids is None:
        artifact_ids = artifact_service.artifact_ids_of_run(uow, data.run_id)
    else:
        artifact_ids = data.artifact_ids
        _check_artifact_ids(uow, data.run_id, artifact_ids)
    record = PackRecord(uuid7(), data.run_id, data.summary, uow.clock(), data.metadata)
    repository.insert_pack(uow, record, artifact_ids)
    pack = pack_from_row(record, list(artifact_ids))
    uow.record("disclosure_pack.create", "disclosure_pack", pack.id, pack)
    return pack


def get_pack(uow: UnitOfWork, pack_id: str) -> DisclosurePack:
    row = repository.get_pack(uow, pack_id)
    if row is None:
        raise DisclosurePackNotFound()
    return pack_from_row(row, repository.pack_artifact_ids(uow, [row.id])[row.id])


def packs_from_rows(uow: UnitOfWork, rows: list[PackRecord]) -> list[DisclosurePack]:
    ids = repository.pack_artifact_ids(uow, [r.id for r in rows])
    return [pack_from_row(r, ids[r.id]) for r in rows]


def list_packs(
    uow: UnitOfWork, page: Page, *, run_id: str | None = None
) -> tuple[list[DisclosurePack], Cursor | None]:
    rows = repository.list_packs(uow, page, run_id=run_id)
    items = packs_from_rows(uow, rows[: page.limit])
    after = Cursor(items[-1].created_at, items[-1].id) if len(rows) > page.limit else None
    return items, after
