"""OpenVEX (v0.0.1 legacy and v0.2.0): statements counted by status.

CycloneDX VEX is a CycloneDX BOM and is handled in ``cyclonedx``. The legacy
v0.0.1 shape (string vulnerability and products, string version) gets its own
lenient schema because the current one does not apply to it.
"""

from __future__ import annotations

import re
from typing import Any

from maestro.evidence import schemas
from maestro.evidence.common import as_dict, as_list, count, join, schema_findings, text, unsupported
from maestro.evidence.model import Evidence, Finding, ParsedEvidence

FORMAT = "openvex-json"
SUPPORTED = ("0.0.1", "0.2.0")
_CONTEXT_VERSION = re.compile(r"^https://openvex\.dev/ns/v?(\d+\.\d+\.\d+)")


def is_openvex(doc: dict[str, Any]) -> bool:
    context = doc.get("@context")
    if isinstance(context, str) and context.startswith("https://openvex.dev/ns"):
        return True
    return "@context" in doc and isinstance(doc.get("statements"), list) and "author" in doc


def parse_openvex(doc: dict[str, Any], prefix: str = "") -> ParsedEvidence:
    match = _CONTEXT_VERSION.match(text(doc.get("@context")) or "")
    version = match.group(1) if match else None
    if version is not None and version not in SUPPORTED:
        return unsupported(FORMAT, "vex", version, SUPPORTED, join(prefix, "/@context"))
    errors = schema_findings(schemas.openvex(legacy=version == "0.0.1"), doc, prefix)
    errors += _iri_problems(doc, prefix)
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


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")


def _iri_problems(doc: dict[str, Any], prefix: str) -> list[Finding]:
    """OpenVEX ``@id`` is an IRI (spec: "the IRI identifying the VEX document"): a scheme, a
    colon and no whitespace (RFC 3987's absolute form); ``"my-doc"`` names nothing."""
    value = doc.get("@id")
    if not isinstance(value, str) or not value or _SCHEME.match(value):
        return []  # missing or empty: the schema already says so
    return [Finding(location=join(prefix, "/@id"), message=f"@id {value!r} is not an IRI (e.g. https://...)")]
