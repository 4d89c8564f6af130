"""The wire contract: Pydantic v2 models for every request and response.

Field names, enum values and defaults are the seed specification's. Inputs
forbid unknown fields and use strict scalar types, so ``"cost_estimate": "10"``
or ``"sbom_present": "yes"`` is a 422 naming the field, not a silent coercion.
The SDK (``maestro.client``) imports these same classes.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from maestro.evidence.model import Evidence, VerifiedFlags

MAX_IDS = 1000
MAX_JSON_DEPTH = 32
MAX_JSON_INT = 2**63 - 1


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})


class ArtifactKind(StrEnum):
    SBOM = "sbom"
    SLSA_PROVENANCE = "slsa_provenance"
    RISK_ASSESSMENT = "risk_assessment"
    BUILD_LOG = "build_log"
    TEST_REPORT = "test_report"
    OTHER = "other"


def _check_text(value: str) -> str:
    """Refuse what no database can store faithfully: NUL and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def _check_json(value: dict[str, Any]) -> dict[str, Any]:
    """Walk a JSON object iteratively: bounded depth, storable strings, finite numbers."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for key, item in node.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str):
            _check_text(node)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValueError("numbers must be finite (no NaN or Infinity)")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_JSON_INT:
            raise ValueError("integers must fit in 64 bits")
    return value


def _text(max_length: int, min_length: int = 1) -> Any:
    return Annotated[
        str,
        Strict(),
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_check_text),
    ]


Name = _text(512)
Owner = _text(320)
LinkId = _text(256)
Uri = _text(4096)
ContentHash = _text(256)
Summary = _text(65_536, min_length=0)
JsonObject = Annotated[dict[str, Any], AfterValidator(_check_json)]
Cost = Annotated[float, Strict(), Field(ge=0, le=1e15, allow_inf_nan=False)]


def _check_unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"lists {value!r} more than once")
        seen.add(value)
    return values


IdList = Annotated[
    list[LinkId],  # type: ignore[valid-type]
    Field(max_length=MAX_IDS),
    AfterValidator(_check_unique),
]
StrictBool = Annotated[bool, Strict()]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- runs


class RunCreate(_Input):
    name: Name  # type: ignore[valid-type]
    owner: Owner  # type: ignore[valid-type]
    started_at: AwareDatetime | None = Field(
        default=None,
        description="When the run really started, for runs recorded after the fact; "
        "default: now. May not be in the future.",
    )
    status: RunStatus = RunStatus.PENDING
    cost_estimate: Cost | None = None
    cost_actual: Cost | None = None
    related_entity_ids: IdList = Field(default_factory=list)
    related_decision_ids: IdList = Field(default_factory=list)
    metadata: JsonObject = Field(default_factory=dict)


class RunUpdate(_Input):
    """A partial update: only the fields sent change. ``metadata`` is a JSON merge
    patch (RFC 7396): keys merge into the stored object and a ``null`` deletes one."""

    name: Name | None = None  # type: ignore[valid-type]
    status: RunStatus | None = None
    cost_estimate: Cost | None = None
    cost_actual: Cost | None = None
    finished_at: AwareDatetime | None = None
    related_entity_ids: IdList | None = None
    related_decision_ids: IdList | None = None
    metadata: JsonObject | None = None


class Run(BaseModel):
    id: str
    name: str
    owner: str
    started_at: datetime
    finished_at: datetime | None = None
    status: RunStatus
    cost_estimate: float | None = None
    cost_actual: float | None = None
    related_entity_ids: list[str] = Field(default_factory=list)
    related_decision_ids: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


# ----------------------------------------------------------- artifacts


class ArtifactMetadata(BaseModel):
    """The seed's governance flags, as the client declares them."""

    model_config = ConfigDict(extra="forbid")

    sbom_present: StrictBool = False
    slsa_provenance_present: StrictBool = False
    risk_assessment_present: StrictBool = False
    additional_metadata: JsonObject = Field(default_factory=dict)

    @property
    def compliant(self) -> bool:
        return self.sbom_present and self.slsa_provenance_present and self.risk_assessment_present


class ArtifactCreate(_Input):
    run_id: LinkId  # type: ignore[valid-type]
    kind: ArtifactKind
    path_or_uri: Uri  # type: ignore[valid-type]
    content_hash: ContentHash | None = None  # type: ignore[valid-type]
    metadata_json: ArtifactMetadata = Field(default_factory=ArtifactMetadata)


class ArtifactContent(BaseModel):
    """Bytes uploaded for an artifact, stored once under their digest."""

    digest: str = Field(description="sha256:<hex>, computed by the server.")
    size: int
    media_type: str | None = None
    uploaded_at: datetime


class ArtifactEvidence(Evidence):
    """What parsing the uploaded content found, plus what it verified."""

    verified: VerifiedFlags = Field(default_factory=VerifiedFlags)


class Artifact(BaseModel):
    id: str
    run_id: str
    kind: ArtifactKind
    path_or_uri: str
    content_hash: str | None = None
    created_at: datetime
    metadata_json: ArtifactMetadata
    content: ArtifactContent | None = Field(default=None, description="Null until content is uploaded.")
    evidence: ArtifactEvidence | None = Field(default=None, description="Null until content is uploaded.")


# ---------------------------------------------------- disclosure packs


class DisclosurePackCreate(_Input):
    run_id: LinkId  # type: ignore[valid-type]
    summary: Summary  # type: ignore[valid-type]
    artifact_ids: IdList | None = Field(
        default=None, description="Omitted: every artifact the run has when the pack is made."
    )
    metadata: JsonObject = Field(default_factory=dict)


class DisclosurePack(BaseModel):
    id: str
    run_id: str
    summary: str
    artifact_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


# ------------------------------------------------ gate and manifest


class ReleaseGateDetails(BaseModel):
    total_artifacts: int
    compliant_artifacts: int
    compliant_artifact_ids: list[str]
    reasons: list[str] = Field(
        default_factory=list,
        description="Why the gate failed, one entry per unmet requirement (empty when it passed); "
        "`message` joins them with '; '.",
    )


class ReleaseGateResult(BaseModel):
    run_id: str
    passed: bool
    message: str
    details: ReleaseGateDetails


class ArtifactCompliance(BaseModel):
    """Declared flags (the seed's, used by the gate) beside what uploaded content verified."""

    artifact_id: str
    kind: ArtifactKind
    sbom_present: bool
    slsa_provenance_present: bool
    risk_assessment_present: bool
    compliant: bool
    verified: VerifiedFlags = Field(default_factory=VerifiedFlags)
    content_uploaded: bool = False
    warnings: list[str] = Field(default_factory=list)


class ComplianceReport(BaseModel):
    total_artifacts: int
    compliant_artifacts: int
    compliant_artifact_ids: list[str]
    artifacts_with_sbom: int
    artifacts_with_slsa_provenance: int
    artifacts_with_risk_assessment: int
    artifacts: list[ArtifactCompliance]


class RunManifest(BaseModel):
    run: Run
    artifacts: list[Artifact]
    disclosure_pack: DisclosurePack | None = Field(
        description="The most recent disclosure pack of the run, or null when it has none."
    )
    disclosure_packs: list[DisclosurePack]
    compliance_report: ComplianceReport
    release_gate: ReleaseGateResult


class ErrorBody(BaseModel):
    """Every error response: a human ``detail`` and a stable machine ``error`` code."""

    detail: str
    error: str
    errors: list[dict[str, Any]] | None = None


# ------------------------------------------------- components and keys


class ComponentMatch(BaseModel):
    """One occurrence of a component in one run's SBOM artifact."""

    id: str
    run_id: str
    artifact_id: str
    purl: str | None = None
    name: str
    version: str | None = None
    hashes: dict[str, str] = Field(default_factory=dict)
    licenses: list[str] = Field(default_factory=list)
    created_at: datetime


class ComponentRef(BaseModel):
    key: str = Field(description="The purl without version, or the name when there is no purl.")
    name: str
    version: str | None = None
    purl: str | None = None


class ComponentChange(BaseModel):
    key: str
    name: str
    from_versions: list[str]
    to_versions: list[str]


class SbomDiff(BaseModel):
    base_run_id: str
    head_run_id: str
    added: list[ComponentRef]
    removed: list[ComponentRef]
    changed: list[ComponentChange]
    unchanged: int


class TrustedKeyCreate(_Input):
    name: _text(256)  # type: ignore[valid-type]
    pem: _text(16_384)  # type: ignore[valid-type]


class TrustedKeyInfo(BaseModel):
    id: str
    name: str
    key_id: str = Field(description="sha256 of the key's SubjectPublicKeyInfo (DER), hex.")
    algorithm: str
    pem: str
    created_at: datetime
