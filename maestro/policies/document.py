"""The input document: everything a policy may read about one run, and its digest.

The same document goes to every kind of policy (a built-in reads it through these
models, a Rego module as ``input``), so a verdict is a pure function of the document
and a policy version. Lists are in a canonical order (artifacts by ``created_at`` then
``id``, upstream runs by ``id``, subjects by their digests), so whatever order the
facts arrive in, the canonical JSON and ``input_digest`` are the same.

Canonical JSON is RFC 8785 (JCS). RFC 8785 holds numbers as IEEE 754 doubles; run
metadata may carry integers beyond 2**53, which a double cannot hold exactly, so
those are carried as decimal strings (``document_json`` does it, documented in
docs/policies.md).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from maestro import canonical_json as canonical_json_module
from maestro.models import ArtifactKind, RunStatus

SCHEMA_ID = "https://maestro.dev/policy-input/v1"
SAFE_INT = 2**53 - 1


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Subject(_Fact):
    """A thing with digests: a provenance subject, a release subject, a described component."""

    name: str | None = None
    digest: dict[str, str] = Field(
        description="Algorithm -> lower-case hex; algorithm names normalised (SHA-256 -> sha256)."
    )


class DeclaredFlags(_Fact):
    """What the client declared (the seed's three flags)."""

    sbom_present: bool
    slsa_provenance_present: bool
    risk_assessment_present: bool


class VerifiedFlags(_Fact):
    """What Maestro verified from uploaded content (at the top level or in an archive)."""

    sbom: bool
    slsa_provenance: bool
    risk_assessment: bool


class SignatureFacts(_Fact):
    status: Literal["verified", "unverified", "invalid"]
    key_id: str | None = None
    detail: str | None = None


class EvidenceFacts(_Fact):
    """What Maestro parsed from the artifact's uploaded content, reduced to what rules read.
    Fields that do not apply to the evidence type are null."""

    evidence_type: str = Field(description="sbom, slsa_provenance, risk_assessment, vex, ... or other")
    format: str
    valid: bool
    error_count: int
    first_error: str | None = Field(default=None, description="The first error, 'location: message'.")
    signature: SignatureFacts | None = None
    predicate_types: list[str] = Field(default_factory=list)
    subjects: list[Subject] = Field(
        default_factory=list, description="in-toto statement subjects (provenance and other attestations)."
    )
    subject_count: int = Field(default=0, description="How many subjects the statement has in all.")
    described: Subject | None = Field(
        default=None, description="The component an SBOM describes, with its hashes."
    )
    open_high_or_critical: int | None = Field(
        default=None, description="Risk assessments: open risks of high or critical severity."
    )
    vex_statuses: dict[str, int] | None = Field(
        default=None,
        description="VEX: statements per status (OpenVEX status, CycloneDX analysis state; "
        "'unknown' for a CycloneDX vulnerability without one).",
    )


class ArtifactFacts(_Fact):
    id: str
    kind: ArtifactKind
    created_at: datetime
    content_digest: str | None = Field(default=None, description="sha256:<hex> of uploaded content, if any.")
    declared: DeclaredFlags
    verified: VerifiedFlags
    evidence: EvidenceFacts | None = Field(default=None, description="Null until content is uploaded.")


class RunFacts(_Fact):
    id: str
    name: str
    owner: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class UpstreamRun(_Fact):
    """A run this run depends on, with the verdict of its own gate."""

    id: str
    status: RunStatus
    gate_passed: bool = Field(description="Its own gate's verdict, under its own assigned policy, now.")
    policy_digest: str | None = Field(
        default=None,
        description="The digest of the policy version that gave gate_passed; null when the "
        "run was past the bound of upstream runs judged for one evaluation (then not passed).",
    )


class InputDocument(_Fact):
    """The input of every policy evaluation (JSON Schema in docs/policies.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Maestro policy input")

    schema_: str = Field(default=SCHEMA_ID, alias="schema")
    run: RunFacts
    artifacts: list[ArtifactFacts] = Field(description="Oldest first (created_at, then id).")
    upstream: list[UpstreamRun] = Field(
        default_factory=list, description="Runs this run depends on (by id); empty for a run with none."
    )
    evaluated_at: datetime = Field(
        description="The instant judged: effective_on dates and waivers are compared with it."
    )


def build(
    run: RunFacts,
    artifacts: list[ArtifactFacts],
    upstream: list[UpstreamRun],
    evaluated_at: datetime,
) -> InputDocument:
    """The document with its lists in canonical order."""
    return InputDocument.model_construct(
        schema_=SCHEMA_ID,
        run=run,
        artifacts=sorted(artifacts, key=lambda a: (a.created_at, a.id)),
        upstream=sorted(upstream, key=lambda u: u.id),
        evaluated_at=evaluated_at,
    )


def _safe_numbers(value: Any) -> Any:
    """Integers a double cannot hold exactly become decimal strings (metadata is at most
    32 levels deep, so the recursion is bounded)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > SAFE_INT else value
    if isinstance(value, dict):
        return {k: _safe_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe_numbers(v) for v in value]
    return value


def document_json(document: InputDocument) -> dict[str, Any]:
    """The document as JSON data, as a Rego module sees it (``input``)."""
    data = document.model_dump(mode="json", by_alias=True)
    data["run"]["metadata"] = _safe_numbers(data["run"]["metadata"])
    return data


def _has_float(data: Any) -> bool:
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, float):
            return True
    return False


def canonical_json(data: Any, *, floats: bool = True) -> bytes:
    """RFC 8785 bytes of JSON data (``maestro.canonical_json``). ``floats=False``: the
    caller knows the data holds no float and no integer beyond 2**53."""
    return canonical_json_module.dumps(data) if floats else canonical_json_module.without_numbers_check(data)


def canonical(document: InputDocument) -> bytes:
    """RFC 8785 bytes of the document (only run metadata can hold a float)."""
    data = document_json(document)
    return canonical_json(data, floats=_has_float(data["run"]["metadata"]))


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def input_digest(document: InputDocument) -> str:
    return digest_of(canonical(document))


def facts_digest(document: InputDocument) -> str:
    """The digest of the facts alone (the document without ``evaluated_at``): what a
    recorder compares to tell whether an input changed since the last evaluation."""
    data = document_json(document)
    data.pop("evaluated_at")
    return digest_of(canonical_json(data, floats=_has_float(data["run"]["metadata"])))


def input_schema() -> dict[str, Any]:
    """The JSON Schema of the input document (docs/policies.md shows it; a test keeps them equal)."""
    schema = InputDocument.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = SCHEMA_ID
    return schema
