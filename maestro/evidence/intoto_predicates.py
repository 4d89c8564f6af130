"""From a statement (bare or out of a signed payload) to the summary and evidence type.

SLSA predicates are summarised here; embedded SBOMs and risk assessments are
handed to the other parsers (imported lazily: they live in the registry side)
so an SBOM inside an attestation is indexed exactly like an uploaded one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from maestro.evidence import dsse, slsa
from maestro.evidence.intoto import parse_statement
from maestro.evidence.intoto_report import Report
from maestro.evidence.jsonload import load_json
from maestro.evidence.model import (
    Component,
    Evidence,
    EvidenceError,
    EvidenceType,
    Finding,
    ParsedEvidence,
    ParseOptions,
    Signature,
)

RISK_PREDICATE = "https://maestro.dev/risk-assessment/v1"
SBOM_PREFIXES = ("https://cyclonedx.org/bom", "https://spdx.dev/Document", "https://spdx.org/")
_TYPE_RANK: dict[EvidenceType, int] = {"slsa_provenance": 0, "sbom": 1, "risk_assessment": 2}


@dataclass(slots=True)
class Collected:
    """Everything one upload yields, however many attestations it holds."""

    options: ParseOptions
    report: Report = field(default_factory=Report)
    attestations: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    types: list[EvidenceType] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.report.strict = self.options.strict

    def evidence_type(self) -> EvidenceType:
        ranked = sorted((t for t in self.types if t in _TYPE_RANK), key=lambda t: _TYPE_RANK[t])
        return ranked[0] if ranked else "other"


def from_envelope(envelope: dsse.Envelope, loc: str, out: Collected) -> dict[str, Any] | None:
    """The statement in a signed payload: in-toto type only, duplicate keys refused."""
    if envelope.payload_type != dsse.INTOTO_PAYLOAD_TYPE:
        out.report.error(
            f"{loc}/payloadType",
            f"payloadType is {envelope.payload_type!r}; expected {dsse.INTOTO_PAYLOAD_TYPE}",
        )
        return None
    try:
        doc = load_json(envelope.payload, reject_duplicates=True)
    except EvidenceError as exc:
        out.report.error(f"{loc}/payload", f"signed payload at {exc.location}: {exc.message}")
        return None
    return from_statement(doc, f"{loc}/payload", out)


def from_statement(doc: Any, loc: str, out: Collected) -> dict[str, Any] | None:
    statement = parse_statement(doc, loc, out.report)
    if statement is None:
        return None
    summary: dict[str, Any] = {
        "statement_type": statement.version,
        "predicate_type": statement.predicate_type,
        "subjects": statement.subjects,
        "subject_count": statement.subject_count,
    }
    summary.update(_predicate(statement.predicate_type, statement.predicate, f"{loc}/predicate", out))
    out.attestations.append(summary)
    return summary


def from_bare_predicate(version: str, doc: Any, out: Collected) -> None:
    out.report.warn("/", "bare SLSA predicate: it names no subject and carries no signature")
    predicate_type = next(t for t, v in slsa.PREDICATE_TYPES.items() if v == version)
    summary: dict[str, Any] = {
        "statement_type": None,
        "predicate_type": predicate_type,
        "subjects": [],
        "subject_count": 0,
    }
    summary.update(_predicate(predicate_type, doc, "", out))
    out.attestations.append(summary)


def _predicate(predicate_type: str, predicate: Any, loc: str, out: Collected) -> dict[str, Any]:
    version = slsa.PREDICATE_TYPES.get(predicate_type)
    if version is not None:
        out.types.append("slsa_provenance")
        return {"provenance": slsa.summarize(version, predicate, loc, out.report)}
    if isinstance(predicate, dict) and (
        predicate_type == RISK_PREDICATE or predicate_type.startswith(SBOM_PREFIXES)
    ):
        return _embedded(predicate_type, predicate, loc, out)
    out.types.append("other")
    if isinstance(predicate, dict):
        scalars = {k: v for k, v in list(predicate.items())[:20] if isinstance(v, str | int | float | bool)}
        return {"predicate_fields": scalars} if scalars else {}
    return {}


def _embedded(predicate_type: str, predicate: dict[str, Any], loc: str, out: Collected) -> dict[str, Any]:
    """Hand an embedded SBOM or risk assessment to its own parser."""
    parsed = _call_other_parser(predicate_type, predicate, loc, out.options)
    if parsed is None:
        out.report.warn(loc, f"embedded {predicate_type} document not parsed: no parser for it is available")
        out.types.append("other")
        return {}
    evidence = parsed.evidence
    out.report.errors.extend(evidence.errors)
    out.report.warnings.extend(evidence.warnings)
    if not evidence.valid and not evidence.errors:
        out.report.error(loc, f"embedded {evidence.format} document is not valid")
    out.components.extend(parsed.components)
    out.types.append(evidence.evidence_type)
    return {"predicate_format": evidence.format, "predicate_summary": evidence.summary}


def _call_other_parser(
    predicate_type: str, predicate: dict[str, Any], loc: str, options: ParseOptions
) -> ParsedEvidence | None:
    result: Any = None
    try:
        if predicate_type == RISK_PREDICATE:
            risk = _optional("maestro.evidence.risk", "parse_risk_document")
            if risk is not None:
                result = risk(predicate, loc)
        if result is None:
            registry = _optional("maestro.evidence.registry", "parse_json_document")
            if registry is not None:
                result = registry(predicate, options, loc)
    except EvidenceError as exc:
        failed = Evidence(
            format="unknown",
            evidence_type="other",
            valid=False,
            errors=[Finding(location=exc.location, message=exc.message)],
        )
        return ParsedEvidence(evidence=failed)
    if isinstance(result, ParsedEvidence):
        return result
    return ParsedEvidence(evidence=result) if isinstance(result, Evidence) else None


def _optional(module: str, name: str) -> Any:
    """A function from the other half of the evidence package, or None while it does not exist."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
