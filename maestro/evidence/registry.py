"""The one entry point: bytes in, ``ParsedEvidence`` out, never an exception.

Detection order: archive magic, then JSON (attestation containers first, then
the document's own keys), JSON Lines, XML (root element and namespace), SPDX
tag-value, and finally plain text or binary. ``declared_kind`` is a hint only:
it names unrecognised content (build logs) but never overrides what the bytes are.
"""

from __future__ import annotations

from typing import Any

from maestro.evidence import attestation, detect, spdx, spdx3, spdx_tagvalue, vex
from maestro.evidence.archive import parse_archive
from maestro.evidence.common import gc_paused, load_document, note_duplicates
from maestro.evidence.cyclonedx import is_cyclonedx, parse_cyclonedx_json
from maestro.evidence.cyclonedx_xml import NS_PREFIX, parse_cyclonedx_xml
from maestro.evidence.duplicates import Duplicate
from maestro.evidence.junit import ROOTS as JUNIT_ROOTS
from maestro.evidence.junit import parse_junit
from maestro.evidence.model import (
    Evidence,
    EvidenceError,
    EvidenceType,
    Finding,
    ParsedEvidence,
    ParseOptions,
    VerifiedFlags,
)
from maestro.evidence.risk import is_risk, parse_risk_document
from maestro.evidence.sarif import is_sarif, parse_sarif
from maestro.evidence.xmlload import local_name, namespace, parse_xml

MAX_DEPTH = 1
# Kinds that claim a specific evidence format: unrecognised content under them is invalid.
_CLAIMS = ("sbom", "slsa_provenance", "risk_assessment", "test_report")
_HINT_TYPES: dict[str, EvidenceType] = {"build_log": "build_log", "other": "other"}


def parse_evidence(data: bytes, options: ParseOptions, declared_kind: str | None = None) -> ParsedEvidence:
    """Detect, parse and validate one upload; bad input yields ``valid: false``."""
    return _guarded(data, options, declared_kind, depth=0)


def parse_json_document(doc: Any, options: ParseOptions, location_prefix: str = "") -> ParsedEvidence | None:
    """Parse an already-loaded JSON document that is an SBOM, VEX, SARIF or risk
    assessment (e.g. an in-toto predicate); None when it is none of those."""
    if not isinstance(doc, dict):
        return None
    if is_risk(doc):
        return parse_risk_document(doc, location_prefix)
    if is_cyclonedx(doc):
        return parse_cyclonedx_json(doc, location_prefix)
    if spdx3.is_spdx3(doc):
        return spdx3.parse_spdx3(doc, location_prefix)
    if spdx.is_spdx2(doc):
        return spdx.parse_spdx_json(doc, options, location_prefix)
    if vex.is_openvex(doc):
        return vex.parse_openvex(doc, location_prefix)
    if is_sarif(doc):
        return parse_sarif(doc, location_prefix)
    return None


def verified_flags(evidence: Evidence) -> VerifiedFlags:
    """True per type only where valid content of that type was parsed, at the top
    level or inside an archive member; skipped or invalid members count for nothing."""
    flags = VerifiedFlags()
    pending = [evidence]
    while pending:
        current = pending.pop()
        if current.valid and current.evidence_type in ("sbom", "slsa_provenance", "risk_assessment"):
            setattr(flags, current.evidence_type, True)
        pending.extend(m.evidence for m in current.members if m.evidence is not None)
    return flags


def _guarded(data: bytes, options: ParseOptions, declared_kind: str | None, depth: int) -> ParsedEvidence:
    try:
        with gc_paused():
            return _dispatch(data, options, declared_kind, depth)
    except EvidenceError as exc:
        return _failed("unknown", exc.location, exc.message)
    except RecursionError:
        return _failed("unknown", "/", "document nested too deeply")
    except Exception as exc:  # a parser bug must not turn bad input into a 500
        return _failed("unknown", "/", f"could not parse: {type(exc).__name__}")


def _failed(fmt: str, location: str, message: str, evidence_type: EvidenceType = "other") -> ParsedEvidence:
    errors = [Finding(location=location, message=message)]
    return ParsedEvidence(Evidence(format=fmt, evidence_type=evidence_type, valid=False, errors=errors))


def _dispatch(data: bytes, options: ParseOptions, declared_kind: str | None, depth: int) -> ParsedEvidence:
    container = detect.sniff(data)
    if container in ("zip", "tar", "gzip"):
        if depth >= MAX_DEPTH:
            return _failed(container, "/", "nested archive not inspected (depth limit)", "archive")

        def member(body: bytes, path: str) -> ParsedEvidence:
            return _guarded(body, ParseOptions(options.strict, options.trusted_keys, path), None, depth + 1)

        return parse_archive(data, container, member)
    if container == "json":
        return _json(data, options, declared_kind)
    if container == "xml":
        return _xml(data, declared_kind)
    if container == "tag-value":
        return spdx_tagvalue.parse_tag_value(data, options)
    if container == "yaml":
        return spdx.unsupported("spdx-yaml", data)
    return _unknown(data, container, declared_kind)


def _json(data: bytes, options: ParseOptions, declared_kind: str | None) -> ParsedEvidence:
    try:
        doc, found = load_document(data)
    except EvidenceError as exc:
        if detect.looks_like_json_lines(data):
            return _json_lines(data, options)
        return _failed("json", exc.location, exc.message)
    kind = attestation.detect_attestation(doc)
    if kind is not None:
        parsed = attestation.parse_attestation(kind, data, doc, options)
    else:
        parsed = parse_json_document(doc, options) or _unknown(data, "json", declared_kind)
    return note_duplicates(parsed, found, strict=options.strict)


def _json_lines(data: bytes, options: ParseOptions) -> ParsedEvidence:
    docs = []
    found: list[tuple[int, list[Duplicate]]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc, repeated = load_document(line)
        except EvidenceError as exc:
            return _failed("jsonl", f"line {number}", exc.message)
        docs.append(doc)
        found.append((number, repeated))
    parsed = attestation.parse_attestation("intoto-jsonl", data, docs, options)
    for number, repeated in found:
        note_duplicates(parsed, repeated, strict=options.strict, prefix=f"line {number}")
    return parsed


def _xml_format(root_name: str | None, data: bytes) -> str:
    """Name the XML format from its root element alone, for refused documents too."""
    name = (root_name or "").rsplit(":", 1)[-1]
    head = detect.head_text(data)
    if name == "bom" and b"cyclonedx.org/schema/bom" in head:
        return "cyclonedx-xml"
    if name in JUNIT_ROOTS:
        return "junit-xml"
    if name == "test-results":
        return "nunit-xml"
    if name == "RDF" and b"spdx.org/rdf/terms" in head:
        return "spdx-rdf-xml"
    if name == "Document" and b"<spdxVersion>" in head:
        return "spdx-xml"
    return "xml"


_XML_TYPES: dict[str, EvidenceType] = {
    "cyclonedx-xml": "sbom",
    "junit-xml": "test_report",
    "nunit-xml": "test_report",
    "spdx-rdf-xml": "sbom",
    "spdx-xml": "sbom",
}


def _xml(data: bytes, declared_kind: str | None) -> ParsedEvidence:
    fmt = _xml_format(detect.xml_root(data), data)
    if fmt in ("spdx-rdf-xml", "spdx-xml"):
        return spdx.unsupported(fmt, data)
    try:
        root = parse_xml(data)
    except EvidenceError as exc:
        return _failed(fmt, exc.location, exc.message, _XML_TYPES.get(fmt, "other"))
    if local_name(root.tag) == "bom" and namespace(root.tag).startswith(NS_PREFIX[:-1]):
        return parse_cyclonedx_xml(root)
    if local_name(root.tag) in JUNIT_ROOTS:
        return parse_junit(root)
    if fmt == "nunit-xml":
        return _failed(fmt, "line 1", "NUnit reports are not supported; use JUnit XML", "test_report")
    return _unknown(data, "xml", declared_kind)


def _unknown(data: bytes, container: detect.Container, declared_kind: str | None) -> ParsedEvidence:
    """Content Maestro does not interpret: kept, typed by the hint if it is a log."""
    evidence_type = _HINT_TYPES.get(declared_kind or "", "other")
    fmt = container if container in ("json", "xml", "text", "binary") else "unknown"
    errors = []
    if declared_kind in _CLAIMS:
        errors.append(
            Finding(
                location="/",
                message=f"declared {declared_kind}, but the content is no format Maestro "
                f"recognises as one ({fmt})",
            )
        )
    summary = {"size": len(data), "media_type": detect.MEDIA_TYPES[container]}
    return ParsedEvidence(
        Evidence(format=fmt, evidence_type=evidence_type, valid=not errors, errors=errors, summary=summary)
    )
