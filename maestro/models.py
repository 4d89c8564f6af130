"""The wire contract: Pydantic v2 models for every request and response.

Field names, enum values and defaults are the seed specification's. Inputs
forbid unknown fields and use strict scalar types, so ``"cost_estimate": "10"``
or ``"sbom_present": "yes"`` is a 422 naming the field, not a silent coercion.
The SDK (``maestro.client``) imports these same classes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from maestro.evidence.model import ArchiveMember, Evidence, VerifiedFlags

MAX_IDS = 1000
MAX_JSON_DEPTH = 32
MAX_JSON_INT = 2**63 - 1
NO_NUL = "^[^\\u0000]*$"  # JSON Schema (ECMA-262) for "no NUL character"


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


def _text(
    max_length: int,
    min_length: int = 1,
    pattern: str = NO_NUL,
    check: Callable[[str], str] | None = None,
) -> Any:
    """A storable string; ``pattern`` tells OpenAPI clients what the validators enforce."""
    checks = [AfterValidator(_check_text)] + ([AfterValidator(check)] if check else [])
    return Annotated[
        (
            str,
            Strict(),
            StringConstraints(min_length=min_length, max_length=max_length),
            *checks,
            Field(json_schema_extra={"pattern": pattern}),
        )
    ]


# ------------------------------------------------------------ timestamps

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$")
TIMESTAMP_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "description": "RFC 3339 with a time zone (Z or an offset), e.g. 2026-11-26T14:11:15Z.",
}


def _timestamp_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("timestamp", message)


def parse_timestamp(value: object) -> datetime:
    """An RFC 3339 string with a zone (or an aware datetime, from Python callers), in UTC.

    Numbers are refused rather than read as Unix time, and a value that leaves the
    representable range once moved to UTC (``9999-12-31T23:59:59-14:00``) is a
    validation error, not an overflow deep in a database driver."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _timestamp_error("must carry a time zone (Z or an offset such as +02:00)")
        moment = value
    elif isinstance(value, str):
        if not _RFC3339.fullmatch(value):
            raise _timestamp_error(
                "must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-26T14:11:15Z"
            )
        try:
            moment = datetime.fromisoformat(value.upper())
        except ValueError as exc:
            raise _timestamp_error(f"is not a valid timestamp ({exc})") from None
    else:
        raise _timestamp_error("must be an RFC 3339 timestamp string, not a number")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _timestamp_error("is out of range once converted to UTC (years 1 to 9999)") from None


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp), WithJsonSchema(TIMESTAMP_SCHEMA)]


# ------------------------------------------------------- content hashes

HASH_FORMS = ("sha256:<hex>", "sha384:<hex>", "sha512:<hex>", "sha1:<hex>", "<hex> (SHA-256)")
_HASH_ALGORITHMS = "sha256|sha384|sha512|sha1"
_HEX_DIGITS = {"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40}
CONTENT_HASH_PATTERN = (
    f"^(?:(?:{_HASH_ALGORITHMS}):[^\\s\\u0000]+"
    + "".join(f"|{name}-[0-9A-Fa-f]{{{digits}}}" for name, digits in _HEX_DIGITS.items())
    + "|[0-9A-Fa-f]+)$"
)
_CONTENT_HASH = re.compile(CONTENT_HASH_PATTERN)


def _check_content_hash(value: str) -> str:
    """Only forms an upload can be checked against: ``md5:``, ``sha3-256:`` or Subresource
    Integrity's base64 (``sha384-oqVu...``) could never match, so they are refused here
    rather than at upload time. ``sha256:`` followed by anything is kept, as the
    specification's examples (``sha256:abc...``) use it for placeholders."""
    if not _CONTENT_HASH.fullmatch(value):
        raise ValueError(f"is not a hash Maestro can verify; supported forms: {', '.join(HASH_FORMS)}")
    return value


Name = _text(512)
Owner = _text(320)
LinkId = _text(256)
Uri = _text(4096)
ContentHash = _text(256, pattern=CONTENT_HASH_PATTERN, check=_check_content_hash)
Summary = _text(65_536, min_length=0)
_NoNulText = Annotated[str, Field(json_schema_extra={"pattern": NO_NUL})]
_JsonInt = Annotated[int, Field(ge=-MAX_JSON_INT, le=MAX_JSON_INT)]
_JsonFraction = Annotated[float, Field(json_schema_extra={"not": {"type": "integer"}})]
JsonValue = TypeAliasType(
    "JsonValue",
    "bool | _JsonInt | _JsonFraction | _NoNulText | list[JsonValue] | _JsonMap | None",
)
_JsonMap = Annotated[dict[str, JsonValue], Field(json_schema_extra={"propertyNames": {"pattern": NO_NUL}})]


class _SchemaOf:
    """Describe a field in OpenAPI as another type would be, while it validates as its own
    (``_check_json`` is one iterative pass; a recursive pydantic union is slower and
    would coerce an oversized integer into a float instead of refusing it)."""

    def __init__(self, shown_as: Any) -> None:
        self.shown_as = shown_as

    def __get_pydantic_json_schema__(self, _: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(TypeAdapter(self.shown_as).core_schema)


JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_check_json),
    _SchemaOf(_JsonMap),
    Field(description=f"A JSON object, nested at most {MAX_JSON_DEPTH} levels deep."),
]
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
    Field(max_length=MAX_IDS, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_check_unique),
]
StrictBool = Annotated[bool, Strict()]

MAX_DEPENDS_ON = 100


def _dedupe_sorted(values: list[str]) -> list[str]:
    return sorted(set(values))


DependsOn = Annotated[
    list[LinkId],  # type: ignore[valid-type]
    Field(
        max_length=MAX_DEPENDS_ON,
        description=f"Ids of runs of the same tenant this run depends on (at most {MAX_DEPENDS_ON}); "
        "duplicates are dropped and order does not matter.",
    ),
    AfterValidator(_dedupe_sorted),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _drop_null(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    """A JSON-schema hook: these optional fields may be omitted but never sent as null."""

    def hook(schema: dict[str, Any]) -> None:
        for name in fields:
            prop = schema["properties"][name]
            options = [option for option in prop.pop("anyOf", []) if option != {"type": "null"}]
            prop.pop("default", None)
            if len(options) == 1:
                prop.update(options[0])

    return hook


NOT_NULL_ON_UPDATE = (
    "name",
    "status",
    "related_entity_ids",
    "related_decision_ids",
    "metadata",
    "depends_on",
)


# ---------------------------------------------------------------- runs


class RunCreate(_Input):
    name: Name  # type: ignore[valid-type]
    owner: Owner  # type: ignore[valid-type]
    started_at: Timestamp | None = Field(
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
    depends_on: DependsOn = Field(default_factory=list)


class RunUpdate(_Input):
    """A partial update: only the fields sent change. ``metadata`` is a JSON merge
    patch (RFC 7396): keys merge into the stored object and a ``null`` deletes one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null(NOT_NULL_ON_UPDATE))

    name: Name | None = None  # type: ignore[valid-type]
    status: RunStatus | None = None
    cost_estimate: Cost | None = None
    cost_actual: Cost | None = None
    finished_at: Timestamp | None = None
    related_entity_ids: IdList | None = None
    related_decision_ids: IdList | None = None
    metadata: JsonObject | None = None
    depends_on: DependsOn | None = Field(default=None, description="Replaces the run's dependencies.")

    @field_validator(*NOT_NULL_ON_UPDATE, mode="before")
    @classmethod
    def _refuse_null(cls, value: object) -> object:
        """Omitted means "unchanged"; an explicit null would mean "clear", which these
        fields cannot be."""
        if value is None:
            raise PydanticCustomError("null_forbidden", "may not be null")
        return value


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
    depends_on: list[str] = Field(default_factory=list, description="Ids of the runs it depends on, sorted.")


class LineageDirection(StrEnum):
    UP = "up"
    DOWN = "down"


class LineageRun(BaseModel):
    id: str
    name: str
    owner: str
    status: RunStatus
    depth: int = Field(description="Fewest dependency hops from the run asked about (1 = direct).")
    depends_on: list[str] = Field(description="All of this run's dependencies, sorted.")


class RunLineage(BaseModel):
    """The runs a run depends on (``up``) or that depend on it (``down``), transitively."""

    run_id: str
    direction: LineageDirection
    depth: int = Field(description="The depth asked for: runs at most this many hops away.")
    runs: list[LineageRun] = Field(description="Nearest first, then by id; the run itself is not listed.")
    edges: list[list[str]] = Field(
        description="``[run, dependency]`` pairs whose both ends are the run or a listed run, sorted."
    )
    truncated: bool = Field(
        description="True when more runs matched than the cap, and only the cap is listed."
    )


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


class EvidenceMember(ArchiveMember):
    """One archive member (``GET /maestro/artifacts/{id}/evidence/members``), its evidence compacted."""

    position: int = Field(description="0-based, in archive order.")


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


class Severity(StrEnum):
    """What a failing rule does to the verdict: ``blocking`` fails the gate, ``advisory`` only reports."""

    BLOCKING = "blocking"
    ADVISORY = "advisory"


class RuleStatus(StrEnum):
    """``warning``: a rule that failed but is not in force yet (``effective_on``) or a Rego
    warning; ``waived``: a failure an active waiver covers; ``skipped``: a rule that could not
    be judged because what it needs did not answer (e.g. its Rego module failed)."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    WAIVED = "waived"
    SKIPPED = "skipped"


class WaiverInfo(BaseModel):
    """Who waived a rule, why, and until when."""

    by: str
    reason: str
    until: datetime


class RuleResult(BaseModel):
    rule: str
    status: RuleStatus
    severity: Severity
    message: str
    evidence: list[str] = Field(
        default_factory=list, description="Ids of the artifacts (or upstream runs) the result rests on."
    )
    effective_on: date | None = Field(
        default=None, description="Before this date (UTC) a failure is reported as a warning."
    )
    waiver: WaiverInfo | None = None


class PolicyRef(BaseModel):
    """The policy version a verdict was reached under. Built-in policies that no one stored
    have ids ``builtin:<name>``."""

    id: str
    name: str
    version: int
    digest: str = Field(description="sha256:<hex> of the version's canonical content.")


class ReleaseGateResult(BaseModel):
    """The seed's four fields, then how the verdict was reached: the policy, one result per
    rule, the instant judged and the digest of the canonical input document."""

    run_id: str
    passed: bool
    message: str
    details: ReleaseGateDetails
    policy: PolicyRef | None = None
    results: list[RuleResult] = Field(default_factory=list)
    evaluated_at: datetime | None = Field(
        default=None, description="The instant the rules were judged at: now, or the request's as_of."
    )
    input_digest: str | None = Field(
        default=None, description="sha256:<hex> of the canonical input document (docs/policies.md)."
    )


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
    artifacts_next: str | None = Field(
        default=None,
        description="When the run has more artifacts than this page shows: the URL of the "
        "manifest's next page (also in the Link header, rel=next).",
    )
    disclosure_packs_next: str | None = Field(
        default=None,
        description="When the run has more packs than the manifest shows: the URL listing the older ones.",
    )


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


PEM_PATTERN = "^[^\\u0000]*-----BEGIN PUBLIC KEY-----[^\\u0000]+-----END PUBLIC KEY-----[^\\u0000]*$"
# An Ed25519 public key whose private half was never kept.
_EXAMPLE_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEApa4I2VSUiIrOpxITNkUq8JQXRHeRXb9GMbScKsuRw24=\n"
    "-----END PUBLIC KEY-----\n"
)


class TrustedKeyCreate(_Input):
    """The pattern states the PEM framing; whether the block holds an accepted key
    (Ed25519, ECDSA P-256, RSA >= 2048 bits) is checked by the server (422)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "ci-signer", "pem": _EXAMPLE_PEM}]}
    )

    name: _text(256)  # type: ignore[valid-type]
    pem: _text(16_384, pattern=PEM_PATTERN)  # type: ignore[valid-type]


class TrustedKeyInfo(BaseModel):
    id: str
    name: str
    key_id: str = Field(description="sha256 of the key's SubjectPublicKeyInfo (DER), hex.")
    algorithm: str
    pem: str
    created_at: datetime


# ------------------------------------------------------------- service


class ServiceLinks(BaseModel):
    docs: str = Field(description="Interactive API documentation (Swagger UI).")
    redoc: str
    openapi: str
    runs: str
    healthz: str
    readyz: str


class ServiceInfo(BaseModel):
    """What ``GET /`` says: which service this is and where to start."""

    service: str
    version: str
    links: ServiceLinks
