"""Maestro's own risk assessment (``https://maestro.dev/risk-assessment/v1``).

The same document arrives bare (marked with ``_type`` or ``schema``) or as the
predicate of an in-toto Statement; the attestation parser calls
``parse_risk_document`` with the predicate's pointer as ``location_prefix``.
"""

from __future__ import annotations

from typing import Any

from maestro.evidence import schemas
from maestro.evidence.common import as_dict, as_list, count, is_rfc3339, join, schema_findings, text
from maestro.evidence.model import Evidence, Finding, ParsedEvidence
from maestro.evidence.schema_defs import RISK_URI, SEVERITIES

FORMAT = "risk-assessment-json"
SPEC_VERSION = "1"


def is_risk(doc: dict[str, Any]) -> bool:
    return RISK_URI in (doc.get("_type"), doc.get("schema"))


def parse_risk_document(doc: Any, location_prefix: str = "") -> ParsedEvidence:
    """Validate and summarise a risk assessment (bare or an in-toto predicate)."""
    if not isinstance(doc, dict):
        errors = [
            Finding(location=join(location_prefix, "/"), message="risk assessment must be a JSON object")
        ]
        return ParsedEvidence(
            Evidence(
                format=FORMAT,
                spec_version=SPEC_VERSION,
                evidence_type="risk_assessment",
                valid=False,
                errors=errors,
            )
        )
    errors = schema_findings(schemas.risk(), doc, location_prefix)
    if (
        isinstance(doc.get("date"), str)
        and not is_rfc3339(doc["date"])
        and not any(e.location.endswith("/date") for e in errors)
    ):
        errors.append(Finding(location=join(location_prefix, "/date"), message="date is not RFC 3339"))
    risks = [as_dict(r) for r in as_list(doc.get("risks"))]
    severities = count(text(r.get("severity")) for r in risks)
    open_severe = sum(
        1 for r in risks if r.get("status") == "open" and r.get("severity") in ("high", "critical")
    )
    summary = {
        "assessor": text(doc.get("assessor")),
        "date": text(doc.get("date")),
        "scope": text(doc.get("scope")),
        "overall_rating": text(doc.get("overall_rating")),
        "risk_count": len(risks),
        "by_severity": {s: 0 for s in SEVERITIES} | severities,
        "by_status": {"open": 0, "mitigated": 0, "accepted": 0} | count(text(r.get("status")) for r in risks),
        "open_high_or_critical": open_severe,
    }
    evidence = Evidence(
        format=FORMAT,
        spec_version=SPEC_VERSION,
        evidence_type="risk_assessment",
        valid=not errors,
        errors=errors,
        summary=summary,
    )
    return ParsedEvidence(evidence)
