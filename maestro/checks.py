"""The release gate and the compliance report: pure functions, no I/O.

The seed's rule: a run may ship when its status is ``succeeded`` and at least
one artifact declares all three of ``sbom_present``, ``slsa_provenance_present``
and ``risk_assessment_present``. Every failing reason is reported, not just the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maestro.evidence.model import VerifiedFlags
from maestro.models import (
    ArtifactCompliance,
    ArtifactKind,
    ComplianceReport,
    ReleaseGateDetails,
    ReleaseGateResult,
    RunStatus,
)

COMPLIANCE_RULE = (
    "at least one artifact must have sbom_present, slsa_provenance_present "
    "and risk_assessment_present all set to true"
)


@dataclass(frozen=True, slots=True)
class ArtifactFlags:
    """The part of an artifact the gate reads."""

    id: str
    kind: ArtifactKind
    sbom_present: bool
    slsa_provenance_present: bool
    risk_assessment_present: bool
    verified_sbom: bool = False
    verified_slsa_provenance: bool = False
    verified_risk_assessment: bool = False
    content_uploaded: bool = False

    @property
    def compliant(self) -> bool:
        return self.sbom_present and self.slsa_provenance_present and self.risk_assessment_present


def evaluate_release_gate(
    run_id: str, status: RunStatus, artifacts: Sequence[ArtifactFlags]
) -> ReleaseGateResult:
    compliant_ids = [a.id for a in artifacts if a.compliant]
    reasons: list[str] = []
    if status is not RunStatus.SUCCEEDED:
        reasons.append(f"Run status is '{status.value}', but the release gate requires 'succeeded'")
    if not compliant_ids:
        reasons.append(
            f"No artifacts meet compliance requirements: {COMPLIANCE_RULE} "
            f"({len(artifacts)} artifact(s) checked)"
        )
    passed = not reasons
    message = (
        f"Release gate passed: {len(compliant_ids)} compliant artifact(s) found"
        if passed
        else "; ".join(reasons)
    )
    return ReleaseGateResult(
        run_id=run_id,
        passed=passed,
        message=message,
        details=ReleaseGateDetails(
            total_artifacts=len(artifacts),
            compliant_artifacts=len(compliant_ids),
            compliant_artifact_ids=compliant_ids,
            reasons=reasons,
        ),
    )


def _declaration_warnings(a: ArtifactFlags) -> list[str]:
    """Declared flags that uploaded content contradicts (nothing to say without content)."""
    if not a.content_uploaded:
        return []
    pairs = [
        ("sbom_present", a.sbom_present, a.verified_sbom),
        ("slsa_provenance_present", a.slsa_provenance_present, a.verified_slsa_provenance),
        ("risk_assessment_present", a.risk_assessment_present, a.verified_risk_assessment),
    ]
    return [
        f"{flag} is declared true but the uploaded content does not verify it"
        for flag, d, v in pairs
        if d and not v
    ]


def compliance_report(artifacts: Sequence[ArtifactFlags]) -> ComplianceReport:
    rows = [
        ArtifactCompliance(
            artifact_id=a.id,
            kind=a.kind,
            sbom_present=a.sbom_present,
            slsa_provenance_present=a.slsa_provenance_present,
            risk_assessment_present=a.risk_assessment_present,
            compliant=a.compliant,
            verified=VerifiedFlags(
                sbom=a.verified_sbom,
                slsa_provenance=a.verified_slsa_provenance,
                risk_assessment=a.verified_risk_assessment,
            ),
            content_uploaded=a.content_uploaded,
            warnings=_declaration_warnings(a),
        )
        for a in artifacts
    ]
    compliant_ids = [r.artifact_id for r in rows if r.compliant]
    return ComplianceReport(
        total_artifacts=len(rows),
        compliant_artifacts=len(compliant_ids),
        compliant_artifact_ids=compliant_ids,
        artifacts_with_sbom=sum(r.sbom_present for r in rows),
        artifacts_with_slsa_provenance=sum(r.slsa_provenance_present for r in rows),
        artifacts_with_risk_assessment=sum(r.risk_assessment_present for r in rows),
        artifacts=rows,
    )
