"""From an artifact's stored evidence (``Evidence`` as JSON) to the facts rules read.

An artifact row keeps a bounded view of its evidence (``maestro.evidence.compact``);
when that view cut its summary (``needs_detail``) the caller passes the full detail
instead, so that no subject or hash a rule needs is lost to the budget.
"""

from __future__ import annotations

from typing import Any

from maestro.policies.document import EvidenceFacts, SignatureFacts, Subject


def needs_detail(evidence: dict[str, Any]) -> bool:
    """Whether the bounded view shortened the summary (read the full detail then)."""
    return any(str(p).startswith("/summary") for p in evidence.get("truncated") or ())


def normal_algorithm(name: str) -> str:
    """``SHA-256``, ``SHA256`` and ``sha256`` name one algorithm; ``SHA3-256`` is ``sha3_256``."""
    lowered = name.strip().lower()
    if lowered.startswith("sha3"):
        return "sha3_" + lowered[4:].lstrip("-_")
    return lowered.replace("-", "").replace("_", "")


def digest_set(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {
        normal_algorithm(str(alg)): value.strip().lower()
        for alg, value in raw.items()
        if isinstance(value, str) and value.strip()
    }


def _subjects(summary: dict[str, Any]) -> list[Subject]:
    found: dict[tuple[tuple[str, str], ...], Subject] = {}
    for item in summary.get("subjects") or ():
        if not isinstance(item, dict):
            continue
        digest = digest_set(item.get("digest"))
        if digest:
            name = item.get("name") if isinstance(item.get("name"), str) else None
            found.setdefault(tuple(sorted(digest.items())), Subject.model_construct(name=name, digest=digest))
    return [found[key] for key in sorted(found)]


def _described(summary: dict[str, Any]) -> Subject | None:
    described = summary.get("described")
    if not isinstance(described, dict):
        return None
    name = described.get("purl") or described.get("name")
    return Subject.model_construct(
        name=name if isinstance(name, str) else None, digest=digest_set(described.get("hashes"))
    )


def _vex_statuses(evidence_type: str, summary: dict[str, Any]) -> dict[str, int] | None:
    counts = summary.get("vex_states") if "vex_states" in summary else None
    if counts is None and evidence_type == "vex":
        counts = summary.get("by_status")
    if not isinstance(counts, dict):
        return None
    return {str(key): n for key, n in counts.items() if isinstance(n, int) and not isinstance(n, bool)}


def _inner(summary: dict[str, Any]) -> dict[str, Any]:
    """An SBOM or risk assessment inside an attestation keeps its summary one level down."""
    inner = summary.get("predicate_summary")
    return inner if isinstance(inner, dict) else summary


def evidence_facts(evidence: dict[str, Any]) -> EvidenceFacts:
    """The facts of one stored evidence document (compact view or full detail)."""
    summary = evidence.get("summary")
    if not isinstance(summary, dict):
        summary = {}
    inner = _inner(summary)
    evidence_type = str(evidence.get("evidence_type") or "other")
    errors = evidence.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else None
    signature = evidence.get("signature")
    status = signature.get("status") if isinstance(signature, dict) else None
    open_severe = inner.get("open_high_or_critical") if evidence_type == "risk_assessment" else None
    types = summary.get("predicate_types")
    return EvidenceFacts.model_construct(
        evidence_type=evidence_type,
        format=str(evidence.get("format") or "unknown"),
        valid=bool(evidence.get("valid")),
        error_count=int(evidence.get("error_count") or len(errors)),
        first_error=f"{first.get('location')}: {first.get('message')}" if first else None,
        signature=SignatureFacts.model_construct(
            status=status, key_id=signature.get("key_id"), detail=signature.get("detail")
        )
        if isinstance(signature, dict) and status in ("verified", "unverified", "invalid")
        else None,
        predicate_types=sorted({t for t in types if isinstance(t, str)}) if isinstance(types, list) else [],
        subjects=_subjects(summary),
        subject_count=int(summary.get("subject_count") or 0),
        described=_described(inner) if evidence_type == "sbom" else None,
        open_high_or_critical=open_severe if isinstance(open_severe, int) else None,
        vex_statuses=_vex_statuses(evidence_type, inner),
    )
