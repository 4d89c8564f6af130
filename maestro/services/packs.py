"""Disclosure packs: a summary of a run plus the exact artifacts it vouches for."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from maestro import storage
from maestro.errors import DisclosurePackNotFound, RunNotFound, ValidationFailed
from maestro.ids import uuid7
from maestro.models import DisclosurePack, DisclosurePackCreate
from maestro.pagination import Cursor, Page
from maestro.platform.uow import UnitOfWork
from maestro.services.rows import pack_from_row


def _check_artifact_ids(session: Session, run_id: str, artifact_ids: list[str]) -> None:
    """Every listed id must exist and belong to ``run_id``; report each one that does not."""
    owners = storage.artifact_run_ids(session, artifact_ids)
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
    session = uow.session
    if not storage.run_exists(session, data.run_id):
        raise RunNotFound()
    if data.artifact_ids is None:
        artifact_ids = storage.artifact_ids_of_run(session, data.run_id)
    else:
        artifact_ids = data.artifact_ids
        _check_artifact_ids(session, data.run_id, artifact_ids)
    values = {
        "id": uuid7(),
        "run_id": data.run_id,
        "summary": data.summary,
        "created_at": uow.now,
        "metadata": data.metadata,
    }
    storage.insert_pack(session, values, artifact_ids)
    return pack_from_row(SimpleNamespace(**values), list(artifact_ids))


def get_pack(uow: UnitOfWork, pack_id: str) -> DisclosurePack:
    session = uow.session
    row = storage.get_pack(session, pack_id)
    if row is None:
        raise DisclosurePackNotFound()
    return pack_from_row(row, storage.pack_artifact_ids(session, [row.id])[row.id])


def packs_from_rows(session: Session, rows: Any) -> list[DisclosurePack]:
    ids = storage.pack_artifact_ids(session, [r.id for r in rows])
    return [pack_from_row(r, ids[r.id]) for r in rows]


def list_packs(
    uow: UnitOfWork, page: Page, *, run_id: str | None = None
) -> tuple[list[DisclosurePack], Cursor | None]:
    session = uow.session
    rows = storage.list_packs(session, page, run_id=run_id)
    items = packs_from_rows(session, rows[: page.limit])
    after = Cursor(items[-1].created_at, items[-1].id) if len(rows) > page.limit else None
    return items, after
