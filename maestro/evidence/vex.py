"""OpenVEX (v0.0.1 legacy and v0.2.0): statements counted by status.

CycloneDX VEX is a CycloneDX BOM and is handled in ``cyclonedx``. The legacy
v0.0.1 shape (string vulnerability and products, string version) gets its own
lenient schema because the current one does not apply to it.
"""

from __future__ import annotations

import re
from typing import Any

from maestro.evidence import schemas
from maestro.evidence.common import as_dict, as_list, count, schema_findings, text
from maestro.evidence.model import Evidence, ParsedEvidence

FORMAT = "openvex-json"
_CONTEXT_VERSION = re.compile(r"^https://openvex\.dev/ns/v?(\d+\.\d+\.\d+)")


def is_openvex(doc: dict[str, Any]) -> bool:
    context = doc.get("@context")
    if isinstance(context, str) and context.startswith("https://openvex.dev/ns"):
        return True
    return "@context" in doc and isinstance(doc.get("statements"), list) and "author" in doc


def parse_openvex(doc: dict[str, Any], prefix: str = "") -> ParsedEvidence:
    match = _CONTEXT_VERSION.match(text(doc.get("@context")) or "")
    version = match.group(1) if match else None
    errors = schema_findings(schemas.openvex(legacy=version == "0.0.1"), doc, prefix)
    statements = [as_dict(s) for s in as_list(doc.get("statements"))]
    vulnerabilities = set()
    for statement in statements:
        vuln = statement.get("vulnerability")
        name = text(vuln) or text(as_dict(vuln).get("name"))
        if name:
            vulnerabilities.add(name)
    summary = {
        "statement_count": len(statements),
        "by_status": count(text(s.get("status")) for s in statements),
        "vulnerability_count": len(vulnerabilities),
        "author": text(doc.get("author")),
        "created": text(doc.get("timestamp")),
        "id": text(doc.get("@id")),
    }
    evidence = Evidence(
        format=FORMAT,
        spec_version=version,
        evidence_type="vex",
        valid=not errors,
        errors=errors,
        summary=summary,
    )
    return ParsedEvidence(evidence)
