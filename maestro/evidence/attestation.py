"""Attestations and provenance: detection and the one entry point the registry calls.

Pure: bytes and parsed JSON in, ``ParsedEvidence`` out; no I/O and no network.
Bad input never raises: it becomes ``valid=False`` with located findings, so a
hostile upload costs a verdict, not a 500.
"""

from __future__ import annotations

from typing import Any

from maestro.evidence import dsse, intoto_wrappers, slsa
from maestro.evidence.intoto import is_statement
from maestro.evidence.intoto_predicates import Collected, from_bare_predicate
from maestro.evidence.intoto_report import combine
from maestro.evidence.jsonload import load_json
from maestro.evidence.model import Evidence, EvidenceError, Finding, ParsedEvidence, ParseOptions
from maestro.evidence.sigstore_bundle import looks_like_bundle

MAX_JSONL_LINES = 256
FORMATS = (
    "in-toto-statement",
    "dsse-envelope",
    "sigstore-bundle",
    "slsa-predicate",
    "npm-attestations",
    "pep740-attestation",
    "gcb-provenance",
    "intoto-jsonl",
)


def detect_attestation(doc: Any) -> str | None:
    """Which attestation container a parsed JSON document is, or None."""
    if not isinstance(doc, dict):
        return None
    kind = doc.get("_type")
    if is_statement(doc) or (isinstance(kind, str) and kind.startswith("https://in-toto.io/Statement/")):
        return "in-toto-statement"
    if looks_like_bundle(doc):
        return "sigstore-bundle"
    if dsse.looks_like_envelope(doc):
        return "dsse-envelope"
    attestations = doc.get("attestations")
    if (
        isinstance(attestations, list)
        and attestations
        and all(isinstance(a, dict) and "bundle" in a for a in attestations)
    ):
        return "npm-attestations"
    if ("verification_material" in doc and "envelope" in doc) or isinstance(
        doc.get("attestation_bundles"), list
    ):
        return "pep740-attestation"
    summary = doc.get("provenance_summary")
    if isinstance(summary, dict) and isinstance(summary.get("provenance"), list):
        return "gcb-provenance"
    if slsa.bare_predicate_version(doc) is not None:
        return "slsa-predicate"
    return None


def parse_attestation(fmt: str, data: bytes, doc: Any, options: ParseOptions) -> ParsedEvidence:
    """Parse one upload already read as JSON (``doc``; a list of lines for ``intoto-jsonl``)."""
    out = Collected(options=options)
    try:
        if doc is None and data and fmt != "intoto-jsonl":
            doc = load_json(data)
        spec_version = _dispatch(fmt, doc, out)
    except EvidenceError as exc:
        out.report.error(exc.location, exc.message)
        spec_version = None
    except RecursionError:
        out.report.error("/", "document nested too deeply")
        spec_version = None
    return _result(fmt, spec_version, out)


def _dispatch(fmt: str, doc: Any, out: Collected) -> str | None:
    if fmt == "intoto-jsonl":
        return _jsonl(doc, out)
    if fmt not in FORMATS:
        out.report.error("/", f"unknown attestation format {fmt!r}")
        return None
    if fmt != "dsse-envelope" and fmt != "in-toto-statement" and not isinstance(doc, dict):
        out.report.error("/", f"{fmt} must be a JSON object")
        return None
    if fmt == "in-toto-statement":
        intoto_wrappers.statement(doc, out)
        summary = out.attestations[0] if out.attestations else {}
        return summary.get("statement_type")
    if fmt == "dsse-envelope":
        intoto_wrappers.envelope(doc, "", out)
        return "dsse-v1"
    if fmt == "sigstore-bundle":
        version, _ = intoto_wrappers.bundle(doc, "", out)
        return version
    if fmt == "npm-attestations":
        intoto_wrappers.npm(doc, out)
        return None
    if fmt == "pep740-attestation":
        intoto_wrappers.pep740(doc, out)
        return "1"
    if fmt == "gcb-provenance":
        intoto_wrappers.gcb(doc, out)
        return None
    version = slsa.bare_predicate_version(doc)
    if version is None:
        out.report.error("/", "not a SLSA provenance predicate (v0.1, v0.2 or v1)")
        return None
    from_bare_predicate(version, doc, out)
    return version


def _jsonl(doc: Any, out: Collected) -> str | None:
    """One attestation per line (*.intoto.jsonl); findings are prefixed ``line N``."""
    if not isinstance(doc, list) or not doc:
        out.report.error("/", "JSON Lines attestation file has no lines")
        return None
    if len(doc) > MAX_JSONL_LINES:
        out.report.error("/", f"too many lines ({len(doc)}; at most {MAX_JSONL_LINES})")
        return None
    for number, line in enumerate(doc, start=1):
        fmt = detect_attestation(line)
        if fmt is None:
            out.report.error(
                f"line {number}", "line is not an attestation (statement, DSSE envelope or Sigstore bundle)"
            )
            continue
        inner = Collected(options=out.options)
        _dispatch(fmt, line, inner)
        prefix = f"line {number}"
        out.report.errors.extend(
            Finding(location=prefix + f.location, message=f.message) for f in inner.report.errors
        )
        out.report.warnings.extend(
            Finding(location=prefix + f.location, message=f.message) for f in inner.report.warnings
        )
        out.attestations.extend(inner.attestations)
        out.signatures.extend(inner.signatures)
        out.components.extend(inner.components)
        out.types.extend(inner.types)
    return None


def _result(fmt: str, spec_version: str | None, out: Collected) -> ParsedEvidence:
    signature = combine(out.signatures)
    errors = out.report.errors
    if signature is not None and signature.status == "invalid" and not errors:
        errors.append(Finding(location="/", message=f"signature invalid: {signature.detail}"))
    summary = _summary(out)
    evidence = Evidence(
        format=fmt,
        spec_version=spec_version,
        evidence_type=out.evidence_type(),
        valid=not errors,
        errors=errors,
        warnings=out.report.warnings,
        summary=summary,
        signature=signature,
    )
    return ParsedEvidence(evidence=evidence, components=out.components)


def _summary(out: Collected) -> dict[str, Any]:
    """Flat for one attestation; for several, the list plus the first SLSA provenance on top."""
    types = list(dict.fromkeys(a["predicate_type"] for a in out.attestations if a.get("predicate_type")))
    if len(out.attestations) == 1:
        return {**out.attestations[0], "predicate_types": types}
    primary = next(
        (a for a in out.attestations if "provenance" in a), out.attestations[0] if out.attestations else {}
    )
    summary: dict[str, Any] = {
        "predicate_type": primary.get("predicate_type"),
        "predicate_types": types,
        "attestations": out.attestations,
    }
    for key in ("subjects", "subject_count", "provenance"):
        if key in primary:
            summary[key] = primary[key]
    return summary
