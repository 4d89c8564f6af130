"""Artifacts: evidence attached to a run, with the client's declared compliance flags."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from maestro.artifacts import repository
from maestro.artifacts.repository import ArtifactRecord
from maestro.checks import ArtifactFlags
from maestro.errors import ArtifactNotFound, ContentNotFound, RunNotFound
from maestro.evidence.compact import compact, detail, member_rows
from maestro.evidence.model import Evidence
from maestro.ids import uuid7
from maestro.models import (
    Artifact,
    ArtifactCreate,
    ArtifactEvidence,
    ArtifactKind,
    ComponentMatch,
    EvidenceMember,
)
from maestro.pagination import Cursor, Page, PositionCursor
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.policies import facts
from maestro.policies.document import ArtifactFacts, DeclaredFlags
from maestro.policies.document import VerifiedFlags as FactVerified
from maestro.runs import service as run_service
from maestro.services.rows import artifact_from_row, flags_from_row
from maestro.storage import evidence_views as views_store


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


_NO_CONTENT: dict[str, Any] = {
    "content_digest": None,
    "content_size": None,
    "media_type": None,
    "uploaded_at": None,
    "evidence": None,
    "verified_sbom": False,
    "verified_slsa_provenance": False,
    "verified_risk_assessment": False,
}


def flags_of_run(scope: Scope, run_id: str) -> list[ArtifactFlags]:
    """What the release gate reads of each of the run's artifacts, oldest first."""
    return [flags_from_row(r) for r in repository.artifact_flags_of_run(scope, run_id)]


@functools.cache
def _declared(sbom: bool, slsa: bool, risk: bool) -> DeclaredFlags:
    """One frozen instance per combination (eight in all): a dry-run builds tens of thousands."""
    return DeclaredFlags.model_construct(
        sbom_present=sbom, slsa_provenance_present=slsa, risk_assessment_present=risk
    )


@functools.cache
def _verified(sbom: bool, slsa: bool, risk: bool) -> FactVerified:
    return FactVerified.model_construct(sbom=sbom, slsa_provenance=slsa, risk_assessment=risk)


def _policy_facts(r: repository.ArtifactFactsRecord, evidence: dict[str, Any] | None) -> ArtifactFacts:
    return ArtifactFacts.model_construct(
        id=r.id,
        kind=ArtifactKind(r.kind),
        created_at=r.created_at,
        content_digest=r.content_digest,
        declared=_declared(r.sbom_present, r.slsa_provenance_present, r.risk_assessment_present),
        verified=_verified(r.verified_sbom, r.verified_slsa_provenance, r.verified_risk_assessment),
        evidence=facts.evidence_facts(evidence) if evidence is not None else None,
    )


def policy_facts_of_run(scope: Scope, run_id: str) -> list[ArtifactFacts]:
    """What release policies read of each of the run's artifacts, oldest first: the full
    evidence detail where the stored view shortened the summary (``facts.needs_detail``)."""
    out = []
    for r in repository.artifact_facts_of_run(scope, run_id):
        evidence = r.evidence
        if evidence is not None and facts.needs_detail(evidence):
            evidence = views_store.evidence_detail(scope.session, r.id) or evidence
        out.append(_policy_facts(r, evidence))
    return out


def policy_facts_of_runs(scope: Scope, run_ids: Sequence[str]) -> dict[str, list[ArtifactFacts]]:
    """``policy_facts_of_run`` for many runs in two queries (the artifacts, then the full
    details the shortened views need), not one per run or per artifact."""
    rows = repository.artifact_facts_of_runs(scope, run_ids)
    wanted = [r.id for _, r in rows if r.evidence is not None and facts.needs_detail(r.evidence)]
    details = views_store.evidence_details(scope.session, wanted)
    out: dict[str, list[ArtifactFacts]] = {run_id: [] for run_id in run_ids}
    for run_id, r in rows:
        out[run_id].append(_policy_facts(r, details.get(r.id, r.evidence)))
    return out


def artifact_run_ids(scope: Scope, artifact_ids: list[str]) -> dict[str, str]:
    return repository.artifact_run_ids(scope, artifact_ids)


def artifact_ids_of_run(scope: Scope, run_id: str) -> list[str]:
    return repository.artifact_ids_of_run(scope, run_id)


def create_artifact(uow: UnitOfWork, data: ArtifactCreate) -> Artifact:
    if not run_service.run_exists(uow, data.run_id):
        raise RunNotFound()
    values = new_artifact_values(data, uow.clock())
    repository.insert_artifact(uow, values)
    artifact = artifact_from_row(ArtifactRecord(**_NO_CONTENT, **values))
    uow.record("artifact.create", "artifact", artifact.id, artifact)
    return artifact


def get_artifact(uow: UnitOfWork, artifact_id: str) -> Artifact:
    row = repository.get_artifact(uow, artifact_id)
    if row is None:
        raise ArtifactNotFound()
    return artifact_from_row(row)


def list_artifacts(
    uow: UnitOfWork, page: Page, *, run_id: str | None = None, kind: ArtifactKind | None = None
) -> tuple[list[Artifact], Cursor | None]:
    rows = repository.list_artifacts(uow, page, run_id=run_id, kind=kind.value if kind is not None else None)
    items = [artifact_from_row(r) for r in rows[: page.limit]]
    after = Cursor(items[-1].created_at, items[-1].id) if len(rows) > page.limit else None
    return items, after


@dataclass(frozen=True, slots=True)
class EvidenceViews:
    """Parsed evidence as it is stored: the bounded view on the artifact row, the full
    detail and the members beside it (see ``maestro.evidence.compact``)."""

    view: ArtifactEvidence
    full: dict[str, Any]
    members: list[dict[str, Any]]


def split_evidence(evidence: ArtifactEvidence) -> EvidenceViews:
    return EvidenceViews(
        view=compact(evidence),
        full=detail(evidence).model_dump(mode="json"),
        members=member_rows(evidence),
    )


def store_evidence_views(session: Session, artifact_id: str, views: EvidenceViews) -> None:
    """Write the detail and members of an artifact whose row already holds the view."""
    views_store.insert_evidence_views(session, artifact_id, views.full, views.members)


def _artifact_with_content(uow: UnitOfWork, artifact_id: str) -> None:
    row = repository.get_artifact(uow, artifact_id)
    if row is None:
        raise ArtifactNotFound()
    if row.content_digest is None:
        raise ContentNotFound("Artifact has no content yet, so no evidence")


def get_evidence(uow: UnitOfWork, artifact_id: str) -> ArtifactEvidence:
    """The full evidence (every error and warning, the whole summary), members apart."""
    session = uow.session
    _artifact_with_content(uow, artifact_id)
    stored = views_store.evidence_detail(session, artifact_id)
    if stored is None:  # pragma: no cover - every content upload writes one
        raise ContentNotFound("Artifact has no stored evidence")
    return ArtifactEvidence.model_validate(stored)


def list_members(
    uow: UnitOfWork, artifact_id: str, limit: int, after: PositionCursor | None
) -> tuple[list[EvidenceMember], PositionCursor | None]:
    """One page of an archive's members in archive order; empty for other content."""
    session = uow.session
    _artifact_with_content(uow, artifact_id)
    rows = views_store.members_page(session, artifact_id, after.position if after else None, limit)
    items = [
        EvidenceMember.model_construct(
            position=r.position,
            path=r.path,
            size=r.size,
            skipped=r.skipped,
            evidence=Evidence.model_validate(r.evidence) if r.evidence is not None else None,
        )
        for r in rows[:limit]
    ]
    return items, PositionCursor(items[-1].position) if len(rows) > limit else None


def list_components(
    uow: UnitOfWork, artifact_id: str, page: Page
) -> tuple[list[ComponentMatch], Cursor | None]:
    """One page of the components this artifact added to the index."""
    session = uow.session
    if repository.get_artifact(uow, artifact_id) is None:
        raise ArtifactNotFound()
    rows = views_store.components_page(session, artifact_id, page)
    items = [ComponentMatch.model_validate(r, from_attributes=True) for r in rows[: page.limit]]
    return items, Cursor(items[-1].created_at, items[-1].id) if len(rows) > page.limit else None
