"""Artifacts: evidence attached to a run, with the client's declared compliance flags."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from maestro import storage
from maestro.errors import ArtifactNotFound, RunNotFound
from maestro.ids import uuid7
from maestro.models import Artifact, ArtifactCreate, ArtifactKind
from maestro.pagination import Cursor, Page
from maestro.services.rows import artifact_from_row


def new_artifact_values(data: ArtifactCreate, now: datetime) -> dict[str, Any]:
    """The row for a new artifact without content."""
    flags = data.metadata_json
    return {
        "id": uuid7(),
        "run_id": data.run_id,
        "kind": data.kind.value,
        "path_or_uri": data.path_or_uri,
        "content_hash": data.content_hash,
        "created_at": now,
        "sbom_present": flags.sbom_present,
        "slsa_provenance_present": flags.slsa_provenance_present,
        "risk_assessment_present": flags.risk_assessment_present,
        "additional_metadata": flags.additional_metadata,
    }


def create_artifact(session: Session, data: ArtifactCreate) -> Artifact:
    if not storage.run_exists(session, data.run_id):
        raise RunNotFound()
    values = new_artifact_values(data, datetime.now(UTC))
    storage.insert_artifact(session, values)
    return artifact_from_row(SimpleNamespace(**values, content_digest=None, evidence=None))


def get_artifact(session: Session, artifact_id: str) -> Artifact:
    row = storage.get_artifact(session, artifact_id)
    if row is None:
        raise ArtifactNotFound()
    return artifact_from_row(row)


def list_artifacts(
    session: Session, page: Page, *, run_id: str | None = None, kind: ArtifactKind | None = None
) -> tuple[list[Artifact], Cursor | None]:
    rows = storage.list_artifacts(session, page, run_id=run_id, kind=kind.value if kind is not None else None)
    items = [artifact_from_row(r) for r in rows[: page.limit]]
    after = Cursor(items[-1].created_at, items[-1].id) if len(rows) > page.limit else None
    return items, after
