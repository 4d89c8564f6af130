"""Database rows to wire models.

Rows were validated on the way in, so models are built with ``model_construct``
(no second validation): listing a page of runs is dominated by this step.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from maestro.checks import ArtifactFlags
from maestro.models import (
    Artifact,
    ArtifactContent,
    ArtifactEvidence,
    ArtifactKind,
    ArtifactMetadata,
    DisclosurePack,
    Run,
    RunStatus,
)


def run_from_row(row: Row[Any] | Any, depends_on: list[str] | None = None) -> Run:
    """``depends_on`` (sorted) lives in its own table: the caller reads it alongside."""
    return Run.model_construct(
        id=row.id,
        name=row.name,
        owner=row.owner,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=RunStatus(row.status),
        cost_estimate=row.cost_estimate,
        cost_actual=row.cost_actual,
        related_entity_ids=row.related_entity_ids,
        related_decision_ids=row.related_decision_ids,
        metadata=row.metadata,
        depends_on=depends_on or [],
    )


def artifact_from_row(row: Row[Any] | Any) -> Artifact:
    content = None
    if row.content_digest is not None:
        content = ArtifactContent.model_construct(
            digest=row.content_digest,
            size=row.content_size,
            media_type=row.media_type,
            uploaded_at=row.uploaded_at,
        )
    evidence = ArtifactEvidence.model_validate(row.evidence) if row.evidence is not None else None
    return Artifact.model_construct(
        id=row.id,
        run_id=row.run_id,
        kind=ArtifactKind(row.kind),
        path_or_uri=row.path_or_uri,
        content_hash=row.content_hash,
        created_at=row.created_at,
        metadata_json=ArtifactMetadata.model_construct(
            sbom_present=row.sbom_present,
            slsa_provenance_present=row.slsa_provenance_present,
            risk_assessment_present=row.risk_assessment_present,
            additional_metadata=row.additional_metadata,
        ),
        content=content,
        evidence=evidence,
    )


def flags_from_row(row: Row[Any] | Any) -> ArtifactFlags:
    return ArtifactFlags(
        id=row.id,
        kind=ArtifactKind(row.kind),
        sbom_present=row.sbom_present,
        slsa_provenance_present=row.slsa_provenance_present,
        risk_assessment_present=row.risk_assessment_present,
        verified_sbom=row.verified_sbom,
        verified_slsa_provenance=row.verified_slsa_provenance,
        verified_risk_assessment=row.verified_risk_assessment,
        content_uploaded=row.content_digest is not None,
    )


def pack_from_row(row: Row[Any] | Any, artifact_ids: list[str]) -> DisclosurePack:
    return DisclosurePack.model_construct(
        id=row.id,
        run_id=row.run_id,
        summary=row.summary,
        artifact_ids=artifact_ids,
        created_at=row.created_at,
        metadata=row.metadata,
    )
