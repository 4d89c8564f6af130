"""SLSA Verification Summary Attestation v1: who verified what, against which policy, when,
and whether it passed - as the predicate of an in-toto Statement.

Field names follow https://slsa.dev/spec/v1.0/verification_summary. ``read`` is the
inverse of ``build`` for what a verifier needs to compare against its own answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maestro.attestations.statement import Statement, StatementError, Subject, statement

PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
PASSED = "PASSED"
FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Summary:
    """What a verifier decided. ``verified_levels`` are SLSA (or custom ``*_LEVEL_*``) levels;
    a failed verification reports ``FAILED`` as its level, as the spec asks."""

    verifier_id: str
    time_verified: str
    resource_uri: str
    policy_uri: str
    passed: bool
    policy_digest: Mapping[str, str] = field(default_factory=dict)
    verified_levels: tuple[str, ...] = ()
    input_attestations: tuple[tuple[str, Mapping[str, str]], ...] = ()
    slsa_version: str = "1.0"

    def predicate(self) -> dict[str, Any]:
        policy: dict[str, Any] = {"uri": self.policy_uri}
        if self.policy_digest:
            policy["digest"] = dict(self.policy_digest)
        levels = list(self.verified_levels) if self.passed else [FAILED]
        return {
            "verifier": {"id": self.verifier_id},
            "timeVerified": self.time_verified,
            "resourceUri": self.resource_uri,
            "policy": policy,
            "inputAttestations": [{"uri": u, "digest": dict(d)} for u, d in self.input_attestations],
            "verificationResult": PASSED if self.passed else FAILED,
            "verifiedLevels": levels,
            "slsaVersion": self.slsa_version,
        }


def build(subjects: Sequence[Subject], summary: Summary) -> Statement:
    """The VSA statement about ``subjects``."""
    return statement(subjects, PREDICATE_TYPE, summary.predicate())


@dataclass(frozen=True, slots=True)
class Reading:
    """The parts of a VSA a verifier compares with its own copy of the answer."""

    subjects: tuple[Subject, ...]
    resource_uri: str
    passed: bool
    verifier_id: str
    time_verified: str


def read(vsa: Statement) -> Reading:
    """The verdict a VSA states; StatementError when it is no VSA or lacks a field."""
    if vsa.predicate_type != PREDICATE_TYPE:
        raise StatementError(f"predicateType is {vsa.predicate_type!r}, not {PREDICATE_TYPE!r}")
    p = vsa.predicate
    verifier, result = p.get("verifier"), p.get("verificationResult")
    if not isinstance(verifier, dict) or not isinstance(verifier.get("id"), str):
        raise StatementError("a VSA names its verifier (verifier.id)")
    if result not in (PASSED, FAILED):
        raise StatementError(f"verificationResult must be {PASSED} or {FAILED}, not {result!r}")
    uri, at = p.get("resourceUri"), p.get("timeVerified")
    if not isinstance(uri, str) or not isinstance(at, str):
        raise StatementError("a VSA has resourceUri and timeVerified strings")
    return Reading(vsa.subjects, uri, result == PASSED, verifier["id"], at)
