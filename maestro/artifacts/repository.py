"""Queries for artifact records (their content, evidence views and component index
live beside them: ``maestro.storage.evidence``). Functions take the caller's scope, see
only its tenant's rows and never commit; reads return typed records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, insert, select

from maestro.db.records import columns_of, keyset, many, one
from maestro.db.tables import ArtifactRow
from maestro.pagination import Page
from maestro.platform.scope import Scope

artifacts_t = cast(Table, ArtifactRow.__table__)


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    id: str
    run_id: str
    kind: str
    path_or_uri: str
    content_hash: str | None
    created_at: datetime
    sbom_present: bool
    slsa_provenance_present: bool
    risk_assessment_present: bool
    additional_metadata: dict[str, Any]
    content_digest: str | None
    content_size: int | None
    media_type: str | None
    uploaded_at: datetime | None
    evidence: dict[str, Any] | None
    verified_sbom: bool
    verified_slsa_provenance: bool
    verified_risk_assessment: bool


@dataclass(frozen=True, slots=True)
class ArtifactFlagsRecord:
    """Only what the release gate reads."""

    id: str
    kind: str
    sbom_present: bool
    slsa_provenance_present: bool
    risk_assessment_present: bool
    verified_sbom: bool
    verified_slsa_provenance: bool
    verified_risk_assessment: bool
    content_digest: str | None


@dataclass(frozen=True, slots=True)
class ArtifactFactsRecord:
    """What a release policy reads: the flags, and the bounded view of the evidence."""

    id: str
    kind: str
    created_at: datetime
    sbom_present: bool
    slsa_provenance_present: bool
    risk_assessment_present: bool
    verified_sbom: bool
    verified_slsa_provenance: bool
    verified_risk_assessment: bool
    content_digest: str | None
    evidence: dict[str, Any] | None


ARTIFACT_COLUMNS = columns_of(artifacts_t, ArtifactRecord)
_FLAGS = columns_of(artifacts_t, ArtifactFlagsRecord)
_FACTS = columns_of(artifacts_t, ArtifactFactsRecord)


def mine(scope: Scope) -> ColumnElement[bool]:
    """Only the caller's tenant's artifacts."""
    return artifacts_t.c.tenant_id == scope.tenant_id


def insert_artifact(scope: Scope, values: dict[str, Any]) -> None:
    scope.session.execute(insert(artifacts_t), [values | {"tenant_id": scope.tenant_id}])


def get_artifact(scope: Scope, artifact_id: str, *, for_update: bool = False) -> ArtifactRecord | None:
    """One artifact; ``for_update`` row-locks it on PostgreSQL (SQLite's write lock covers it)."""
    stmt = select(*ARTIFACT_COLUMNS).where(mine(scope), artifacts_t.c.id == artifact_id)
    if for_update:
        stmt = stmt.with_for_update()
    return one(ArtifactRecord, scope.session.execute(stmt).first())


def list_artifacts(
    scope: Scope, page: Page, *, run_id: str | None = None, kind: str | None = None
) -> list[ArtifactRecord]:
    stmt = select(*ARTIFACT_COLUMNS).where(mine(scope))
    if run_id is not None:
        stmt = stmt.where(artifacts_t.c.run_id == run_id)
    if kind is not None:
        stmt = stmt.where(artifacts_t.c.kind == kind)
    page_stmt = keyset(stmt, artifacts_t.c.created_at, artifacts_t.c.id, page)
    return many(ArtifactRecord, scope.session.execute(page_stmt))


def artifact_flags_of_run(scope: Scope, run_id: str) -> list[ArtifactFlagsRecord]:
    """From the (run_id, created_at, id) index order."""
    stmt = select(*_FLAGS).where(mine(scope), artifacts_t.c.run_id == run_id)
    stmt = stmt.order_by(artifacts_t.c.created_at, artifacts_t.c.id)
    return many(ArtifactFlagsRecord, scope.session.execute(stmt))


# Built once: the gate runs it on every read, and building a select costs more than running it.
_FACTS_OF_RUN = (
    select(*_FACTS)
    .where(artifacts_t.c.tenant_id == bindparam("tenant_id"), artifacts_t.c.run_id == bindparam("run_id"))
    .order_by(artifacts_t.c.created_at, artifacts_t.c.id)
)


def artifact_facts_of_run(scope: Scope, run_id: str) -> list[ArtifactFactsRecord]:
    """From the (run_id, created_at, id) index order."""
    rows = scope.session.execute(_FACTS_OF_RUN, {"tenant_id": scope.tenant_id, "run_id": run_id})
    return many(ArtifactFactsRecord, rows)


def artifact_run_ids(scope: Scope, artifact_ids: Sequence[str]) -> dict[str, str]:
    """Map each existing id among ``artifact_ids`` to its run."""
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(artifact_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        stmt = select(artifacts_t.c.id, artifacts_t.c.run_id).where(mine(scope), artifacts_t.c.id.in_(chunk))
        found.update({row.id: row.run_id for row in scope.session.execute(stmt)})
    return found


def artifact_ids_of_run(scope: Scope, run_id: str) -> list[str]:
    return [flags.id for flags in artifact_flags_of_run(scope, run_id)]
