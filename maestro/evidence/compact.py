"""Bounded views of parsed evidence, so that no response grows with what was uploaded.

A parser's ``Evidence`` can be megabytes: an archive lists up to 10,000 members,
a schema-invalid document dozens of errors, a provenance a thousand subjects.
Every artifact in a list, a manifest or a stored idempotent response carries its
evidence, so each artifact's view is cut to a budget (~9 KB of JSON at worst):

* ``compact`` - what artifact responses show: at most ``MAX_FINDINGS`` errors and
  warnings, short strings, a summary bounded by ``SUMMARY_BUDGET`` bytes, no members;
* ``detail`` - ``GET /maestro/artifacts/{id}/evidence``: everything but the members;
* members are paged one by one at ``/evidence/members``, each ``compact``-ed.

Counts (``error_count``, ``warning_count``, ``member_count``) tell the whole size,
and ``truncated`` lists the JSON pointers of what a view shortened.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson

from maestro.evidence.model import Evidence, Finding

MAX_FINDINGS = 5
MAX_LOCATION = 160
MAX_MESSAGE = 240
MAX_TEXT = 256  # format, spec_version, signature detail
MAX_PATH = 4096  # an archive member's path
SUMMARY_BUDGET = 4096
MAX_TRUNCATED = 20
# (items kept per list, keys kept per object, characters kept per string), tried in
# turn until the summary fits SUMMARY_BUDGET; the last level keeps only a shell.
_LEVELS = ((20, 50, 256), (5, 20, 128), (2, 10, 64), (0, 10, 32))
_MAX_DEPTH = 8

E = TypeVar("E", bound=Evidence)


class _Cuts:
    """Collects the pointers of what was shortened (capped: it must stay small too)."""

    def __init__(self) -> None:
        self.pointers: list[str] = []

    def add(self, pointer: str) -> None:
        if pointer not in self.pointers and len(self.pointers) < MAX_TRUNCATED:
            self.pointers.append(pointer)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _text(value: str, limit: int, pointer: str, cuts: _Cuts) -> str:
    if len(value) <= limit:
        return value
    cuts.add(pointer)
    return value[: max(limit - 3, 0)] + "..."


def _bound(value: Any, level: tuple[int, int, int], pointer: str, cuts: _Cuts, depth: int = 0) -> Any:
    """``value`` with every list, object and string cut to ``level``."""
    items, keys, chars = level
    if isinstance(value, str):
        return _text(value, chars, pointer, cuts)
    if isinstance(value, list | dict) and depth >= _MAX_DEPTH:
        cuts.add(pointer)
        return [] if isinstance(value, list) else {}
    if isinstance(value, list):
        if len(value) > items:
            cuts.add(pointer)
        return [_bound(v, level, f"{pointer}/{i}", cuts, depth + 1) for i, v in enumerate(value[:items])]
    if isinstance(value, dict):
        if len(value) > keys:
            cuts.add(pointer)
        return {
            _text(str(k), chars, pointer, cuts): _bound(
                v, level, f"{pointer}/{_escape(str(k))}", cuts, depth + 1
            )
            for k, v in list(value.items())[:keys]
        }
    return value


def _json_size(value: Any) -> int:
    try:
        return len(orjson.dumps(value, default=str))
    except TypeError:  # an integer beyond 64 bits, which orjson refuses and JSON allows
        return len(json.dumps(value, default=str, separators=(",", ":")))


def bound_summary(summary: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The summary cut to SUMMARY_BUDGET bytes of JSON, and the pointers it cut. One
    that fits is kept whole: the budget is the rule, the levels only a way to meet it."""
    if _json_size(summary) <= SUMMARY_BUDGET:
        return summary, []
    for level in _LEVELS:
        cuts = _Cuts()
        bounded = _bound(summary, level, "/summary", cuts)
        if _json_size(bounded) <= SUMMARY_BUDGET:
            return bounded, cuts.pointers
    return {}, ["/summary"]


def _findings(findings: list[Finding], pointer: str, cuts: _Cuts) -> list[Finding]:
    if len(findings) > MAX_FINDINGS:
        cuts.add(pointer)
    return [
        Finding(
            location=_text(f.location, MAX_LOCATION, f"{pointer}/{i}/location", cuts),
            message=_text(f.message, MAX_MESSAGE, f"{pointer}/{i}/message", cuts),
        )
        for i, f in enumerate(findings[:MAX_FINDINGS])
    ]


def _counts(evidence: Evidence) -> dict[str, Any]:
    """Totals from the parser's lists; a view that was already counted keeps its totals."""
    if evidence.error_count or evidence.warning_count or evidence.member_count or evidence.truncated:
        return {}
    return {
        "error_count": len(evidence.errors),
        "warning_count": len(evidence.warnings),
        "member_count": len(evidence.members),
    }


def detail(evidence: E) -> E:
    """Everything but the members (the parsers bound each list already)."""
    counts = _counts(evidence)
    truncated = list(evidence.truncated)
    if evidence.members and "/members" not in truncated:
        truncated.append("/members")
    return evidence.model_copy(update={**counts, "members": [], "truncated": truncated})


def compact(evidence: E) -> E:
    """The bounded view every artifact response carries."""
    counts = _counts(evidence)
    cuts = _Cuts()
    for pointer in evidence.truncated:
        cuts.add(pointer)
    if evidence.members:
        cuts.add("/members")
    update: dict[str, Any] = {
        **counts,
        "format": _text(evidence.format, MAX_TEXT, "/format", cuts),
        "errors": _findings(evidence.errors, "/errors", cuts),
        "warnings": _findings(evidence.warnings, "/warnings", cuts),
        "members": [],
    }
    if evidence.spec_version is not None:
        update["spec_version"] = _text(evidence.spec_version, MAX_TEXT, "/spec_version", cuts)
    if evidence.signature is not None and evidence.signature.detail is not None:
        detail_text = _text(evidence.signature.detail, MAX_TEXT, "/signature/detail", cuts)
        update["signature"] = evidence.signature.model_copy(update={"detail": detail_text})
    summary, summary_cuts = bound_summary(evidence.summary)
    for pointer in summary_cuts:
        cuts.add(pointer)
    update["summary"] = summary
    update["truncated"] = cuts.pointers
    return evidence.model_copy(update=update)


def _fits(evidence: Evidence) -> bool:
    """Whether ``compact`` would cut nothing (most archive members: a copy per member
    was most of the cost of storing a 10,000-member archive)."""
    findings = evidence.errors + evidence.warnings
    return (
        not evidence.members
        and not evidence.truncated
        and len(evidence.errors) <= MAX_FINDINGS
        and len(evidence.warnings) <= MAX_FINDINGS
        and all(len(f.location) <= MAX_LOCATION and len(f.message) <= MAX_MESSAGE for f in findings)
        and len(evidence.format) <= MAX_TEXT
        and len(evidence.spec_version or "") <= MAX_TEXT
        and len(evidence.signature.detail or "" if evidence.signature else "") <= MAX_TEXT
        and _json_size(evidence.summary) <= SUMMARY_BUDGET
    )


def compact_json(evidence: Evidence) -> dict[str, Any]:
    """``compact(evidence)`` as JSON-ready data."""
    if not _fits(evidence):
        return compact(evidence).model_dump(mode="json")
    return {**evidence.model_dump(mode="json"), **_counts(evidence)}


def member_rows(evidence: Evidence) -> list[dict[str, Any]]:
    """One stored row per archive member, in archive order, each member compacted."""
    return [
        {
            "position": i,
            "path": m.path if len(m.path) <= MAX_PATH else m.path[: MAX_PATH - 3] + "...",
            "size": m.size,
            "skipped": m.skipped,
            "evidence": compact_json(m.evidence) if m.evidence is not None else None,
        }
        for i, m in enumerate(evidence.members)
    ]


def split_evidence(evidence: E) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """How evidence is stored: (the bounded view, the full detail, one row per member)."""
    return (
        compact(evidence).model_dump(mode="json"),
        detail(evidence).model_dump(mode="json"),
        member_rows(evidence),
    )
