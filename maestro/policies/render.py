"""The release gate's verdict rendered for CI: JUnit XML and a Markdown step summary.
Pure: a ``ReleaseGateResult`` in, text out, from its list fields (``results``,
``details.reasons``), never by splitting ``message``.

JUnit: one ``testsuite`` for the gate and one ``testcase`` per rule result, so a CI
tool's test view shows each rule. How a status becomes a JUnit outcome:

- ``passed``: a plain testcase;
- ``failed`` and ``blocking``: ``<failure>``, the only outcome a CI tool counts as
  failing, so the suite has failures exactly when the gate fails;
- ``failed`` and ``advisory``, ``warning``: a passing testcase whose ``<system-out>``
  says what went wrong (CI tools list it as passed and show the text with it); a
  ``<skipped>`` would claim the rule was not judged, which it was;
- ``waived``: ``<skipped>`` with who waived it, until when and why;
- ``skipped``: ``<skipped>`` with the reason.

Control characters XML 1.0 cannot carry (and lone surrogates) become ``\\uXXXX`` text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from lxml import etree

from maestro.models import ReleaseGateResult, RuleResult, RuleStatus, Severity

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Rendering(StrEnum):
    JSON = "json"
    JUNIT = "junit"
    MARKDOWN = "markdown"


MEDIA_TYPES: dict[Rendering, str] = {
    Rendering.JSON: "application/json",
    Rendering.JUNIT: "application/xml",
    Rendering.MARKDOWN: "text/markdown",
}
# What an Accept header may name, in the order a tie between equal q-values is broken.
ACCEPTED: tuple[tuple[str, Rendering], ...] = (
    ("application/json", Rendering.JSON),
    ("application/xml", Rendering.JUNIT),
    ("text/markdown", Rendering.MARKDOWN),
    ("text/xml", Rendering.JUNIT),
)
SUPPORTED = tuple(media for media, _ in ACCEPTED)


@dataclass(frozen=True, slots=True)
class _Range:
    type: str
    subtype: str
    q: float

    def specificity(self, media: str) -> int | None:
        """How exactly this range names ``media`` (2 exact, 1 ``type/*``, 0 ``*/*``), or None."""
        kind, sub = media.split("/")
        if self.type == "*":
            return 0 if self.subtype == "*" else None
        if self.type != kind:
            return None
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else None


def _ranges(accept: str) -> list[_Range]:
    out = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if "/" not in media:
            continue
        kind, _, sub = media.lower().partition("/")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        out.append(_Range(kind.strip(), sub.strip(), q))
    return out


def negotiate(accept: str | None) -> Rendering | None:
    """The rendering an ``Accept`` header asks for (RFC 9110: for each supported type the
    most specific range that names it gives its q; the highest q wins, JSON first among
    equals). No header, an empty one, or ``*/*``: JSON. None: nothing supported is acceptable."""
    if accept is None or not accept.strip():
        return Rendering.JSON
    ranges = _ranges(accept)
    best: tuple[float, int, Rendering] | None = None
    for order, (media, rendering) in enumerate(ACCEPTED):
        matching = [(r.specificity(media), r.q) for r in ranges]
        named = [(spec, q) for spec, q in matching if spec is not None]
        if not named:
            continue
        q = max(named)[1]  # the most specific range decides
        if q > 0 and (best is None or q > best[0]):
            best = (q, order, rendering)
    return best[2] if best else None


# ------------------------------------------------------------------ JUnit


def xml_text(text: str) -> str:
    """``text`` with what XML 1.0 cannot hold replaced by a visible ``\\uXXXX``."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _waiver_note(result: RuleResult) -> str:
    waiver = result.waiver
    if waiver is None:
        return f"waived: {result.message}"
    return f"waived by {waiver.by} until {waiver.until.isoformat()}: {waiver.reason}"


def _case_body(result: RuleResult) -> str:
    lines = [result.message]
    if result.evidence:
        lines.append("evidence: " + ", ".join(result.evidence))
    if result.effective_on is not None:
        lines.append(f"effective on: {result.effective_on.isoformat()}")
    return "\n".join(lines)


def _counts_as_failure(result: RuleResult) -> bool:
    return result.status is RuleStatus.FAILED and result.severity is Severity.BLOCKING


def _counts_as_skipped(result: RuleResult) -> bool:
    return result.status in (RuleStatus.WAIVED, RuleStatus.SKIPPED)


def _testcase(suite: etree._Element, classname: str, result: RuleResult) -> None:
    case = etree.SubElement(suite, "testcase", name=xml_text(result.rule), classname=classname, time="0")
    if _counts_as_failure(result):
        failure = etree.SubElement(case, "failure", message=xml_text(result.message), type="blocking")
        failure.text = xml_text(_case_body(result))
    elif _counts_as_skipped(result):
        note = _waiver_note(result) if result.status is RuleStatus.WAIVED else result.message
        etree.SubElement(case, "skipped", message=xml_text(note))
    elif result.status is not RuleStatus.PASSED:
        kind = "advisory failure" if result.status is RuleStatus.FAILED else "warning"
        out = etree.SubElement(case, "system-out")
        out.text = xml_text(f"{kind} ({result.severity.value}): {_case_body(result)}")


def _properties(suite: etree._Element, result: ReleaseGateResult) -> None:
    values = {"run_id": result.run_id, "passed": "true" if result.passed else "false"}
    if result.policy is not None:
        values |= {
            "policy.id": result.policy.id,
            "policy.name": result.policy.name,
            "policy.version": str(result.policy.version),
            "policy.digest": result.policy.digest,
        }
    if result.input_digest is not None:
        values["input_digest"] = result.input_digest
    if result.evaluated_at is not None:
        values["evaluated_at"] = result.evaluated_at.isoformat()
    props = etree.SubElement(suite, "properties")
    for name, value in values.items():
        etree.SubElement(props, "property", name=name, value=xml_text(value))


def _timestamp(at: datetime | None) -> str:
    """JUnit's timestamp has no zone (ISO 8601 local form); Maestro's instants are UTC."""
    return (at or datetime.fromtimestamp(0, UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def junit(result: ReleaseGateResult) -> bytes:
    """The verdict as a JUnit XML report (UTF-8, with an XML declaration)."""
    results = result.results
    failures = sum(_counts_as_failure(r) for r in results)
    skipped = sum(_counts_as_skipped(r) for r in results)
    name = "maestro.release-gate"
    if result.policy is not None:
        name = f"{name}.{result.policy.name}"
    counts = {"tests": str(len(results)), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    root = etree.Element("testsuites", {"name": f"release gate for run {xml_text(result.run_id)}"})
    suite = etree.SubElement(root, "testsuite", {"name": xml_text(name)})
    for element in (root, suite):
        for key, value in counts.items():
            element.set(key, value)
        element.set("time", "0")
    suite.set("timestamp", _timestamp(result.evaluated_at))
    _properties(suite, result)
    for rule_result in results:
        _testcase(suite, xml_text(name), rule_result)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# ------------------------------------------------------------------ Markdown

# Backslash-escaped in a table cell: GFM table pipes, emphasis, code, links, raw HTML,
# strikethrough and entities, so a message renders as the text it is.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
# CommonMark ends lines only at CR and LF; NEL and the Unicode separators end lines for
# other readers (and Python's splitlines), so they are line breaks in a cell too.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_ICONS = {
    RuleStatus.PASSED: "✅",
    RuleStatus.FAILED: "❌",
    RuleStatus.WARNING: "⚠️",
    RuleStatus.WAIVED: "⏭️",
    RuleStatus.SKIPPED: "⏭️",
}


def markdown_text(text: str) -> str:
    """``text`` safe inside one GFM table cell: special characters escaped, line breaks as
    ``<br>`` (the only line break a cell can hold), control characters as ``\\uXXXX``."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", xml_text(text))
    return _LINE_BREAK.sub("<br>", escaped)


def _code(text: str) -> str:
    """Inline code for an id or a digest (backticks in it cannot close the span)."""
    return "`" + text.replace("`", "'").replace("\n", " ") + "`"


def _cell_message(result: RuleResult) -> str:
    text = result.message
    if result.status is RuleStatus.WAIVED:
        text = f"{text} ({_waiver_note(result)})"
    elif result.effective_on is not None and result.status is RuleStatus.WARNING:
        text = f"{text} (in force from {result.effective_on.isoformat()})"
    elif result.status is RuleStatus.FAILED and result.severity is Severity.ADVISORY:
        text = f"{text} (advisory: does not block)"
    return markdown_text(text)


def markdown(result: ReleaseGateResult) -> str:
    """A summary for ``$GITHUB_STEP_SUMMARY``: verdict, policy, then one table row per rule."""
    verdict = "✅ Release gate passed" if result.passed else "❌ Release gate failed"
    lines = [f"## {verdict} for run {_code(result.run_id)}", ""]
    if result.policy is not None:
        p = result.policy
        name = markdown_text(p.name)
        lines.append(f"**Policy:** {name} version {p.version} ({_code(p.id)}), digest {_code(p.digest)}  ")
    if result.evaluated_at is not None:
        lines.append(f"**Evaluated at:** {result.evaluated_at.isoformat()}  ")
    if result.input_digest is not None:
        lines.append(f"**Input digest:** {_code(result.input_digest)}  ")
    lines.append("")
    if not result.passed and not result.results:
        lines += [f"- {markdown_text(reason)}" for reason in result.details.reasons or [result.message]]
        lines.append("")
    if result.results:
        lines += ["| Rule | Status | Severity | Message |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {markdown_text(r.rule)} | {_ICONS[r.status]} {r.status.value} | {r.severity.value} "
            f"| {_cell_message(r)} |"
            for r in result.results
        ]
        lines.append("")
    return "\n".join(lines)


def render(result: ReleaseGateResult, rendering: Rendering) -> bytes:
    """The verdict as ``rendering`` (JSON as the API returns it)."""
    if rendering is Rendering.JUNIT:
        return junit(result)
    if rendering is Rendering.MARKDOWN:
        return markdown(result).encode()
    return result.__pydantic_serializer__.to_json(result)
