"""The gate's renderings for CI: JUnit XML and Markdown, the renderer alone and through
``GET /maestro/runs/{id}/release-gate`` with ``Accept``, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from maestro.evidence.model import ParseOptions
from maestro.evidence.registry import parse_evidence
from maestro.models import (
    PolicyRef,
    ReleaseGateDetails,
    ReleaseGateResult,
    RuleResult,
    RuleStatus,
    Severity,
    WaiverInfo,
)
from maestro.policies import render
from maestro.policies.render import Rendering
from tests.maestro.conftest import ALL_FLAGS

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "assets" / "junit_ci.xsd")))
AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 9, tzinfo=UTC)


def rule(name: str, status: str, severity: str = "blocking", message: str = "m", **extra: Any) -> RuleResult:
    return RuleResult(
        rule=name, status=RuleStatus(status), severity=Severity(severity), message=message, **extra
    )


def result_of(results: list[RuleResult]) -> ReleaseGateResult:
    """A result whose verdict follows from its rules, as the engine's does."""
    reasons = [
        r.message for r in results if r.status is RuleStatus.FAILED and r.severity is Severity.BLOCKING
    ]
    return ReleaseGateResult(
        run_id="run-1",
        passed=not reasons,
        message="; ".join(reasons) or "Release gate passed",
        details=ReleaseGateDetails(
            total_artifacts=0, compliant_artifacts=0, compliant_artifact_ids=[], reasons=reasons
        ),
        policy=PolicyRef(id="pol-1", name="release", version=3, digest="sha256:" + "a" * 64),
        results=results,
        evaluated_at=AT,
        input_digest="sha256:" + "b" * 64,
    )


EVERY_STATUS = [
    rule("run-succeeded", "passed"),
    rule("sbom-verified", "failed", message="No SBOM <verified> & signed", evidence=["art-1"]),
    rule("risk-no-open-high", "failed", "advisory", message="2 open"),
    rule("dsse-trusted-signature", "warning", message="not yet", effective_on=date(2027, 1, 1)),
    rule(
        "provenance-covers-subjects",
        "waived",
        message="missing",
        waiver=WaiverInfo(by="token-9", reason="hotfix", until=UNTIL),
    ),
    rule("vex-no-unaddressed-affected", "skipped", message="Not judged: the Rego module did not answer"),
]


def cases(xml: bytes) -> dict[str, etree._Element]:
    root = etree.fromstring(xml)
    return {c.get("name"): c for c in root.iter("testcase")}


def outcome(case: etree._Element) -> str:
    tags = [child.tag for child in case]
    return next((t for t in ("failure", "error", "skipped") if t in tags), "passed")


# ----------------------------------------------------------------- JUnit


def test_junit_has_one_testcase_per_rule_with_its_outcome() -> None:
    xml = render.junit(result_of(EVERY_STATUS))
    XSD.assertValid(etree.fromstring(xml))
    found = cases(xml)
    assert list(found) == [r.rule for r in EVERY_STATUS]
    assert {name: outcome(case) for name, case in found.items()} == {
        "run-succeeded": "passed",
        "sbom-verified": "failure",
        "risk-no-open-high": "passed",  # advisory: CI shows it as passing, with the text
        "dsse-trusted-signature": "passed",
        "provenance-covers-subjects": "skipped",
        "vex-no-unaddressed-affected": "skipped",
    }
    failure = found["sbom-verified"].find("failure")
    assert failure is not None
    assert failure.get("message") == "No SBOM <verified> & signed"
    assert "evidence: art-1" in (failure.text or "")
    assert "advisory failure (advisory): 2 open" in (found["risk-no-open-high"].findtext("system-out") or "")
    assert "effective on: 2027-01-01" in (found["dsse-trusted-signature"].findtext("system-out") or "")
    waived = found["provenance-covers-subjects"].find("skipped")
    assert waived is not None
    assert waived.get("message") == f"waived by token-9 until {UNTIL.isoformat()}: hotfix"


def test_junit_round_trips_through_maestros_own_parser() -> None:
    parsed = parse_evidence(render.junit(result_of(EVERY_STATUS)), ParseOptions()).evidence
    assert (parsed.format, parsed.valid, parsed.warnings) == ("junit-xml", True, [])
    summary = parsed.summary
    assert (summary["tests"], summary["failures"], summary["errors"], summary["skipped"]) == (6, 1, 0, 2)
    assert summary["passed"] == 3


def test_junit_carries_the_policy_and_digests_as_properties() -> None:
    root = etree.fromstring(render.junit(result_of(EVERY_STATUS)))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["policy.name"] == "release"
    assert props["policy.version"] == "3"
    assert props["policy.digest"] == "sha256:" + "a" * 64
    assert props["input_digest"] == "sha256:" + "b" * 64
    assert props["passed"] == "false"
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("timestamp") == "2026-12-02T12:00:00"


def test_junit_escapes_markup_and_makes_control_characters_visible() -> None:
    message = 'a <b> & "c" \x00\x07 \ud800 end'
    xml = render.junit(result_of([rule("r", "failed", message=message)]))
    failure = cases(xml)["r"].find("failure")
    assert failure is not None
    assert failure.get("message") == 'a <b> & "c" \\u0000\\u0007 \\ud800 end'


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(RuleStatus)), st.sampled_from(list(Severity)), st.text(max_size=40)),
        max_size=8,
    )
)
def test_junit_fails_exactly_when_the_gate_fails(items: list[tuple[RuleStatus, Severity, str]]) -> None:
    results = [rule(f"rule-{i}", s.value, v.value, m) for i, (s, v, m) in enumerate(items)]
    result = result_of(results)
    root = etree.fromstring(render.junit(result))
    XSD.assertValid(root)
    suite = root.find("testsuite")
    assert suite is not None
    assert int(suite.get("tests") or -1) == len(results) == len(list(root.iter("testcase")))
    assert (int(suite.get("failures") or 0) > 0) is (not result.passed)


# -------------------------------------------------------------- Markdown


def _cells(row: str) -> list[str]:
    """A GFM table row's cells: split on pipes no backslash escapes."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_escapes_pipes_and_line_breaks_in_a_cell() -> None:
    text = render.markdown(result_of([rule("r", "failed", message="a | b\nc\r\nd *e* <img src=x> `f`")]))
    rows = [line for line in text.splitlines() if line.startswith("| r ")]
    assert len(rows) == 1
    cells = _cells(rows[0])
    assert len(cells) == 4
    assert cells[3].strip() == r"a \| b<br>c<br>d \*e\* \<img src=x\> \`f\`"


def test_markdown_has_the_verdict_the_policy_and_a_row_per_rule() -> None:
    text = render.markdown(result_of(EVERY_STATUS))
    first = text.splitlines()[0]
    assert first == "## ❌ Release gate failed for run `run-1`"
    assert "release version 3 (`pol-1`), digest `sha256:" + "a" * 64 + "`" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [_cells(r)[0].strip() for r in rows] == [r.rule for r in EVERY_STATUS]
    by_rule = {_cells(r)[0].strip(): _cells(r) for r in rows}
    assert by_rule["risk-no-open-high"][3].strip() == "2 open (advisory: does not block)"
    assert f"waived by token-9 until {UNTIL.isoformat()}: hotfix" in by_rule["provenance-covers-subjects"][3]
    assert render.markdown(result_of([rule("run-succeeded", "passed")])).startswith(
        "## ✅ Release gate passed"
    )


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
@example("a\x85b\u2028c\u2029d\r\ne|f\\|g")
def test_markdown_keeps_any_message_in_its_own_cell(message: str) -> None:
    text = render.markdown(result_of([rule("r", "failed", message=message)]))
    rows = [line for line in text.splitlines() if line.startswith("| r ")]
    assert len(rows) == 1
    assert len(_cells(rows[0])) == 4


# ------------------------------------------------------------ negotiation


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, Rendering.JSON),
        ("", Rendering.JSON),
        ("*/*", Rendering.JSON),
        ("application/*", Rendering.JSON),
        ("application/json", Rendering.JSON),
        ("application/xml", Rendering.JUNIT),
        ("text/xml", Rendering.JUNIT),
        ("text/markdown", Rendering.MARKDOWN),
        ("text/markdown; charset=utf-8", Rendering.MARKDOWN),
        ("text/*", Rendering.MARKDOWN),
        ("application/json;q=0.5, application/xml", Rendering.JUNIT),
        ("application/xml;q=0.2, */*;q=0.1", Rendering.JUNIT),
        ("text/html, application/xhtml+xml, */*;q=0.8", Rendering.JSON),
        ("image/png", None),
        ("application/json;q=0", None),
        ("*/*;q=0", None),
        ("garbage", None),
    ],
)
def test_negotiation(accept: str | None, expected: Rendering | None) -> None:
    assert render.negotiate(accept) is expected


# ------------------------------------------------------------------- API


def failing_run(client: TestClient) -> str:
    run_id = str(client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"])
    client.post(
        "/maestro/artifacts",
        json={"run_id": run_id, "kind": "other", "path_or_uri": "b", "metadata_json": ALL_FLAGS},
    )
    return run_id


def test_accept_xml_gives_junit_and_markdown_a_summary(client: TestClient) -> None:
    run_id = failing_run(client)
    as_json = client.get(f"/maestro/runs/{run_id}/release-gate").json()
    xml = client.get(f"/maestro/runs/{run_id}/release-gate", headers={"Accept": "application/xml"})
    assert xml.status_code == 200
    assert xml.headers["content-type"] == "application/xml; charset=utf-8"
    assert "Accept" in xml.headers["vary"]
    XSD.assertValid(etree.fromstring(xml.content))
    found = cases(xml.content)
    assert {name: outcome(c) for name, c in found.items()} == {
        r["rule"]: "failure" if r["status"] == "failed" else "passed" for r in as_json["results"]
    }
    assert outcome(found["run-succeeded"]) == "failure"
    md = client.get(f"/maestro/runs/{run_id}/release-gate", headers={"Accept": "text/markdown"})
    assert md.status_code == 200
    assert md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert md.text.startswith(f"## ❌ Release gate failed for run `{run_id}`")
    assert "Run status is 'pending'" in md.text


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/markdown;q=0.5"])
def test_json_stays_the_default(client: TestClient, accept: str | None) -> None:
    run_id = failing_run(client)
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get(f"/maestro/runs/{run_id}/release-gate", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["passed"] is False


def test_unsupported_accept_is_406_listing_the_supported_types(client: TestClient) -> None:
    run_id = failing_run(client)
    response = client.get(f"/maestro/runs/{run_id}/release-gate", headers={"Accept": "image/png"})
    assert response.status_code == 406
    body = response.json()
    assert body["error"] == "not_acceptable"
    assert body["errors"][0]["field"] == "Accept"
    assert body["errors"][0]["supported"] == [
        "application/json",
        "application/xml",
        "text/markdown",
        "text/xml",
    ]
    assert "image/png" in body["detail"]


def test_an_unknown_run_is_404_in_json_whatever_the_accept(client: TestClient) -> None:
    response = client.get("/maestro/runs/nope/release-gate", headers={"Accept": "application/xml"})
    assert response.status_code == 404
    assert response.json()["error"] == "run_not_found"
