"""JUnit XML test reports (pytest, mocha, surefire, ...): counts and suites.

There is no single JUnit schema, so the counts come from the ``testcase``
elements themselves; suite attributes that disagree with them become warnings,
because a gate on "no failures" must not trust a hand-edited ``failures="0"``.
"""

from __future__ import annotations

import math
from typing import Any

from lxml import etree

from maestro.evidence.common import count
from maestro.evidence.model import Evidence, Finding, ParsedEvidence
from maestro.evidence.xmlload import local_name

FORMAT = "junit-xml"
ROOTS = ("testsuites", "testsuite")
MAX_SUITES = 100
_OUTCOMES = ("failure", "error", "skipped")


def _float(value: str | None) -> float:
    try:
        number = float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
    return number if math.isfinite(number) and number >= 0 else 0.0


def _outcome(case: etree._Element) -> str:
    names = {local_name(child.tag) for child in case}
    return next((name for name in _OUTCOMES if name in names), "passed")


def _suite(suite: etree._Element, warnings: list[Finding]) -> dict[str, Any]:
    outcomes = count(_outcome(c) for c in suite if local_name(c.tag) == "testcase")
    counted = {
        "tests": sum(outcomes.values()),
        "failures": outcomes.get("failure", 0),
        "errors": outcomes.get("error", 0),
        "skipped": outcomes.get("skipped", 0),
    }
    for key, value in counted.items():
        claimed = suite.get(key)
        if claimed is not None and claimed.strip().isdigit() and int(claimed) != value and key != "tests":
            warnings.append(
                Finding(
                    location=f"line {suite.sourceline or 1}",
                    message=f"suite says {key}={claimed} but has {value}",
                )
            )
    return {"name": suite.get("name"), **counted, "time": _float(suite.get("time"))}


def parse_junit(root: etree._Element) -> ParsedEvidence:
    name = local_name(root.tag)
    if name not in ROOTS:
        errors = [
            Finding(location=f"line {root.sourceline or 1}", message=f"root <{name}> is not a JUnit report")
        ]
        return ParsedEvidence(Evidence(format="xml", evidence_type="test_report", valid=False, errors=errors))
    warnings: list[Finding] = []
    suites = [s for s in root.iter("{*}testsuite", "testsuite") if isinstance(s.tag, str)]
    rows = [_suite(s, warnings) for s in suites]
    totals = {key: sum(r[key] for r in rows) for key in ("tests", "failures", "errors", "skipped")}
    time = (
        _float(root.get("time"))
        if name == "testsuites" and root.get("time")
        else sum(r["time"] for r in rows)
    )
    summary = {
        **totals,
        "passed": totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"],
        "time": round(time, 6),
        "suite_count": len(rows),
        "suites": rows[:MAX_SUITES],
    }
    evidence = Evidence(
        format=FORMAT, evidence_type="test_report", valid=True, warnings=warnings[:50], summary=summary
    )
    return ParsedEvidence(evidence)
