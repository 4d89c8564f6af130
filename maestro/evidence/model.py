"""What parsing a piece of evidence yields. Pure data: no I/O, no database.

``Evidence`` is what a parser finds and, once compacted (``maestro.evidence.compact``),
what the API shows on an artifact (``artifact.evidence``); ``ParsedEvidence`` adds
what only the server keeps (the SBOM's components, which go into the component
index rather than into every response).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

EvidenceType = Literal[
    "sbom",
    "slsa_provenance",
    "risk_assessment",
    "vex",
    "sarif",
    "test_report",
    "build_log",
    "archive",
    "other",
]


class Finding(BaseModel):
    """An error or warning, with where it is: a JSON pointer (``/components/3/purl``),
    ``line N`` for text and XML, prefixed ``<member>!`` inside archives."""

    location: str
    message: str


@dataclass(slots=True)
class Component:
    """One SBOM component for the index. A plain dataclass: a large SBOM has tens of
    thousands, and a validated model per component was a fifth of the parse time."""

    name: str
    purl: str | None = None
    version: str | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    licenses: list[str] = field(default_factory=list)


class Signature(BaseModel):
    status: Literal["verified", "unverified", "invalid"]
    key_id: str | None = None
    detail: str | None = None


class ArchiveMember(BaseModel):
    path: str
    size: int
    evidence: Evidence | None = None
    skipped: str | None = None


class VerifiedFlags(BaseModel):
    """True only when valid content of that type was parsed (directly or in an archive)."""

    sbom: bool = False
    slsa_provenance: bool = False
    risk_assessment: bool = False


class Evidence(BaseModel):
    format: str = Field(description="e.g. cyclonedx-json, spdx-tag-value, dsse-envelope, junit-xml, unknown")
    spec_version: str | None = None
    evidence_type: EvidenceType
    valid: bool
    errors: list[Finding] = Field(default_factory=list)
    warnings: list[Finding] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    signature: Signature | None = None
    members: list[ArchiveMember] = Field(
        default_factory=list,
        description="Parser output only: empty in every response; page them at /evidence/members.",
    )
    # Filled in by ``maestro.evidence.compact``: what a response shows is bounded, and
    # these say how much there is in all and what was shortened.
    error_count: int = Field(default=0, description="How many errors the content has in all.")
    warning_count: int = Field(default=0, description="How many warnings the content has in all.")
    member_count: int = Field(default=0, description="How many archive members; see /evidence/members.")
    truncated: list[str] = Field(
        default_factory=list,
        description="JSON pointers of lists and strings shortened in this view (the full view is "
        "GET /maestro/artifacts/{id}/evidence; members are at /evidence/members).",
    )


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key the operator trusts for DSSE signatures (PEM: Ed25519, ECDSA P-256, RSA)."""

    key_id: str
    name: str
    pem: str


@dataclass(frozen=True, slots=True)
class ParseOptions:
    strict: bool = False
    trusted_keys: tuple[TrustedKey, ...] = ()
    filename: str | None = None


@dataclass(slots=True)
class ParsedEvidence:
    evidence: Evidence
    components: list[Component] = field(default_factory=list)


class EvidenceError(Exception):
    """Raised inside a parser for input it cannot read at all; the registry turns it
    into ``valid: false`` with this location and message."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


ArchiveMember.model_rebuild()
