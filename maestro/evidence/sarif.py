"""SARIF 2.1.0: results by level, rules and tools, for gating on static analysis.

A result without ``level`` takes its rule's ``defaultConfiguration.level`` and
otherwise ``warning``, as SARIF section 3.27.10 specifies.
"""

from __future__ import annotations

from typing import Any

from maestro.evidence import schemas
from maestro.evidence.common import as_dict, as_list, count, join, schema_findings, text, unsupported
from maestro.evidence.model import Evidence, ParsedEvidence

FORMAT = "sarif-json"
SUPPORTED = ("2.1.0",)


def is_sarif(doc: dict[str, Any]) -> bool:
    schema = text(doc.get("$schema")) or ""
    return "runs" in doc and ("sarif" in schema.lower() or "version" in doc)


def _run_levels(run: dict[str, Any]) -> tuple[list[str | None], set[str]]:
    driver = as_dict(as_dict(run.get("tool")).get("driver"))
    rules = [as_dict(r) for r in as_list(driver.get("rules"))]
    default_level = {
        text(r.get("id")): text(as_dict(r.get("defaultConfiguration")).get("level")) for r in rules
    }
    levels: list[str | None] = []
    rule_ids = {rid for r in rules if (rid := text(r.get("id")))}
    for result in map(as_dict, as_list(run.get("results"))):
        rule_id = text(result.get("ruleId")) or text(as_dict(result.get("rule")).get("id"))
        if rule_id:
            rule_ids.add(rule_id)
        levels.append(text(result.get("level")) or default_level.get(rule_id) or "warning")
    return levels, rule_ids


def parse_sarif(doc: dict[str, Any], prefix: str = "") -> ParsedEvidence:
    version = doc.get("version")
    if isinstance(version, str) and version not in SUPPORTED:  # e.g. the 2.2 committee draft
        return unsupported(FORMAT, "sarif", version, SUPPORTED, join(prefix, "/version"))
    errors = schema_findings(schemas.sarif(), doc, prefix)
    levels: list[str | None] = []
    rules: set[str] = set()
    tools = []
    for run in map(as_dict, as_list(doc.get("runs"))):
        run_levels, run_rules = _run_levels(run)
        levels += run_levels
        rules |= run_rules
        driver = as_dict(as_dict(run.get("tool")).get("driver"))
        tools.append(
            {
                "name": text(driver.get("name")),
                "version": text(driver.get("version")) or text(driver.get("semanticVersion")),
            }
        )
    summary = {
        "run_count": len(as_list(doc.get("runs"))),
        "result_count": len(levels),
        "by_level": {"error": 0, "warning": 0, "note": 0, "none": 0} | count(levels),
        "rule_count": len(rules),
        "tools": tools,
    }
    evidence = Evidence(
        format=FORMAT,
        spec_version=str(version) if isinstance(version, str) else None,
        evidence_type="sarif",
        valid=not errors,
        errors=errors,
        summary=summary,
    )
    return ParsedEvidence(evidence)
