"""Each parser on documents built in the test (no corpus needed)."""

from __future__ import annotations

from typing import Any

import pytest

from maestro.evidence.model import ParseOptions
from maestro.evidence.registry import parse_evidence, parse_json_document, verified_flags
from maestro.evidence.risk import parse_risk_document
from tests.maestro.evidence import builders

OPTS = ParseOptions()


@pytest.mark.parametrize("version", ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"])
def test_cyclonedx_json_each_version(version: str) -> None:
    doc = builders.cyclonedx(3, version)
    if version in ("1.2", "1.3", "1.4"):
        doc["metadata"]["tools"] = [{"vendor": "acme", "name": "maestro-test", "version": "1"}]
    parsed = parse_evidence(builders.dumps(doc), OPTS, "sbom")
    evidence = parsed.evidence
    assert (evidence.format, evidence.spec_version, evidence.evidence_type) == (
        "cyclonedx-json",
        version,
        "sbom",
    )
    assert evidence.valid, evidence.errors
    assert evidence.summary["component_count"] == 4  # three plus one nested
    assert evidence.summary["described"]["purl"] == "pkg:pypi/app@2.0"
    assert evidence.summary["serial_number"].startswith("urn:uuid:")
    assert evidence.summary["tools"][0]["name"] == "maestro-test"
    first = parsed.components[0]
    assert (first.name, first.hashes, first.licenses) == ("lib0", {"SHA-256": builders.SHA256}, ["MIT"])


def test_cyclonedx_schema_error_has_pointer() -> None:
    doc = builders.cyclonedx(2)
    doc["components"][1]["hashes"][0]["content"] = "nothex"
    evidence = parse_evidence(builders.dumps(doc), OPTS).evidence
    assert not evidence.valid
    assert evidence.errors[0].location == "/components/1/hashes/0/content"


def test_cyclonedx_vex_counts_states() -> None:
    doc = builders.cyclonedx(0)
    doc["vulnerabilities"] = [
        {"id": "CVE-1", "analysis": {"state": "not_affected", "justification": "code_not_reachable"}},
        {"id": "CVE-2", "analysis": {"state": "exploitable"}},
        {"id": "CVE-3"},
    ]
    evidence = parse_evidence(builders.dumps(doc), OPTS).evidence
    assert (evidence.evidence_type, evidence.valid) == ("vex", True), evidence.errors
    assert evidence.summary["vex_states"] == {"exploitable": 1, "not_affected": 1, "unknown": 1}


@pytest.mark.parametrize("version", ["1.2", "1.3", "1.4", "1.5", "1.6"])
def test_cyclonedx_xml(version: str) -> None:
    parsed = parse_evidence(builders.cyclonedx_xml(version), OPTS)
    evidence = parsed.evidence
    assert (evidence.format, evidence.spec_version, evidence.valid) == ("cyclonedx-xml", version, True), (
        evidence.errors
    )
    assert [c.name for c in parsed.components] == ["lib", "inner"]
    assert parsed.components[0].hashes == {"SHA-256": builders.SHA256}
    assert evidence.summary["described"]["name"] == "app"


def test_cyclonedx_xml_xsd_error_has_line() -> None:
    data = builders.cyclonedx_xml().replace(
        b'type="library">\n      <name>lib', b'type="nonsense">\n      <name>lib'
    )
    evidence = parse_evidence(data, OPTS).evidence
    assert not evidence.valid
    assert evidence.errors[0].location.startswith("line ")


def test_spdx_json_and_tag_value_agree() -> None:
    as_json = parse_evidence(builders.dumps(builders.spdx_json()), OPTS)
    as_tv = parse_evidence(builders.SPDX_TAG_VALUE.encode(), OPTS)
    assert (as_json.evidence.format, as_tv.evidence.format) == ("spdx-json", "spdx-tag-value")
    assert (as_json.evidence.valid, as_tv.evidence.valid) == (True, True), (
        as_json.evidence.errors,
        as_tv.evidence.errors,
    )
    assert as_json.components == as_tv.components
    assert as_tv.components[0].purl == "pkg:pypi/app@2.0"
    assert as_tv.evidence.summary["described"]["name"] == "app"
    assert as_tv.evidence.summary["tools"] == ["maestro-test-1"]


def test_spdx_tag_value_error_is_a_line() -> None:
    text = builders.SPDX_TAG_VALUE.replace("PackageDownloadLocation: NOASSERTION\n", "")
    evidence = parse_evidence(text.encode(), OPTS).evidence
    assert not evidence.valid
    assert evidence.errors[0].location == "line 11"  # the PackageName line
    broken = parse_evidence(b"SPDXVersion: SPDX-2.3\nthis is not a tag\n", OPTS).evidence
    assert not broken.valid
    assert broken.errors[0].location == "line 2"


@pytest.mark.parametrize(
    ("created", "lenient_valid", "strict_valid"),
    [
        ("2024-05-01T12:00:00Z", True, True),
        ("2024-05-01T12:00:00.123456Z", True, False),
        ("2024-05-01", False, False),
    ],
)
def test_spdx_created_leniency(created: str, lenient_valid: bool, strict_valid: bool) -> None:
    data = builders.dumps(builders.spdx_json(created))
    assert parse_evidence(data, OPTS).evidence.valid is lenient_valid
    assert parse_evidence(data, ParseOptions(strict=True)).evidence.valid is strict_valid


def test_risk_assessment_bare_and_as_predicate() -> None:
    evidence = parse_evidence(builders.dumps(builders.risk()), OPTS, "risk_assessment").evidence
    assert (evidence.format, evidence.evidence_type, evidence.valid) == (
        "risk-assessment-json",
        "risk_assessment",
        True,
    )
    assert evidence.summary["by_severity"] == {"low": 1, "medium": 1, "high": 1, "critical": 0}
    assert evidence.summary["by_status"] == {"open": 1, "mitigated": 1, "accepted": 1}
    assert evidence.summary["open_high_or_critical"] == 1
    bad = builders.risk(overall_rating="extreme")
    del bad["risks"][1]["justification"]
    result = parse_risk_document(bad, "/predicate").evidence
    assert not result.valid
    assert {e.location for e in result.errors} == {"/predicate/overall_rating", "/predicate/risks/1"}


def test_parse_json_document_for_predicates() -> None:
    parsed = parse_json_document(builders.cyclonedx(1), OPTS, "/predicate")
    assert parsed is not None
    assert parsed.evidence.format == "cyclonedx-json"
    assert parse_json_document({"hello": "world"}, OPTS) is None
    assert parse_json_document([1, 2], OPTS) is None


def test_openvex_and_sarif() -> None:
    vex: dict[str, Any] = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "me",
        "timestamp": "2024-05-01T12:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-1"},
                "products": [{"@id": "pkg:pypi/app@2.0"}],
                "status": "fixed",
            },
            {
                "vulnerability": {"name": "CVE-2"},
                "status": "not_affected",
                "justification": "component_not_present",
            },
        ],
    }
    evidence = parse_evidence(builders.dumps(vex), OPTS).evidence
    assert (evidence.format, evidence.spec_version, evidence.valid) == ("openvex-json", "0.2.0", True)
    assert evidence.summary["by_status"] == {"fixed": 1, "not_affected": 1}
    del vex["statements"][1]["justification"]
    assert not parse_evidence(builders.dumps(vex), OPTS).evidence.valid
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lint",
                        "rules": [{"id": "R1", "defaultConfiguration": {"level": "error"}}],
                    }
                },
                "results": [
                    {"ruleId": "R1", "message": {"text": "x"}},
                    {"ruleId": "R2", "level": "note", "message": {"text": "y"}},
                ],
            }
        ],
    }
    evidence = parse_evidence(builders.dumps(sarif), OPTS).evidence
    assert evidence.valid
    assert evidence.summary["by_level"] == {"error": 1, "warning": 0, "note": 1, "none": 0}
    assert evidence.summary["rule_count"] == 2


def test_junit_counts_from_testcases() -> None:
    data = b"""<?xml version="1.0"?>
<testsuite name="s" tests="3" failures="0" time="1.5">
  <testcase name="a"/><testcase name="b"><failure message="x"/></testcase>
  <testcase name="c"><skipped/></testcase>
</testsuite>"""
    evidence = parse_evidence(data, OPTS).evidence
    assert (evidence.format, evidence.evidence_type, evidence.valid) == ("junit-xml", "test_report", True)
    assert (evidence.summary["tests"], evidence.summary["failures"], evidence.summary["skipped"]) == (3, 1, 1)
    assert evidence.summary["time"] == 1.5
    assert "failures=0" in evidence.warnings[0].message


def test_unknown_content_and_declared_kind() -> None:
    log = parse_evidence(b"step 1\nstep 2\n", OPTS, "build_log").evidence
    assert (log.format, log.evidence_type, log.valid) == ("text", "build_log", True)
    assert log.summary == {"size": 14, "media_type": "text/plain"}
    blob = parse_evidence(bytes(range(256)), OPTS, "other").evidence
    assert (blob.format, blob.evidence_type, blob.valid) == ("binary", "other", True)
    claimed = parse_evidence(b'{"not": "an sbom"}', OPTS, "sbom").evidence
    assert (claimed.format, claimed.valid) == ("json", False)
    # The hint never overrides content: an SBOM declared as a build log is still an SBOM.
    sbom = parse_evidence(builders.dumps(builders.cyclonedx(1)), OPTS, "build_log").evidence
    assert sbom.evidence_type == "sbom"


def test_verified_flags() -> None:
    sbom = parse_evidence(builders.dumps(builders.cyclonedx(1)), OPTS).evidence
    assert verified_flags(sbom).model_dump() == {
        "sbom": True,
        "slsa_provenance": False,
        "risk_assessment": False,
    }
    broken = builders.cyclonedx(1)
    broken["bomFormat"] = "nope"
    assert not verified_flags(parse_evidence(builders.dumps(broken), OPTS).evidence).sbom
    bundle = builders.zip_of(
        {"sbom.json": builders.dumps(builders.cyclonedx(1)), "risk.json": builders.dumps(builders.risk())}
    )
    flags = verified_flags(parse_evidence(bundle, OPTS).evidence)
    assert flags.model_dump() == {"sbom": True, "slsa_provenance": False, "risk_assessment": True}


def test_docs_show_the_risk_schema() -> None:
    import json
    import re
    from pathlib import Path

    from maestro.evidence.schema_defs import RISK_SCHEMA

    text = (Path(__file__).resolve().parents[3] / "docs" / "evidence.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, re.DOTALL)
    assert json.loads(blocks[0]) == RISK_SCHEMA
    example = json.loads(blocks[1])
    assert parse_evidence(builders.dumps(example), OPTS).evidence.valid
