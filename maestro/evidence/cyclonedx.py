"""CycloneDX JSON: validation against the official schema and extraction.

A BOM whose only content is ``vulnerabilities`` is CycloneDX VEX and is typed
``vex``; a BOM with components stays an ``sbom`` (its VEX statements are still
counted). Nested components are walked with an explicit stack, never recursion.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from maestro.evidence import schemas
from maestro.evidence.common import as_dict, as_list, count, join, schema_findings, text, unsupported_version
from maestro.evidence.model import Component, Evidence, Finding, ParsedEvidence

FORMAT = "cyclonedx-json"


def is_cyclonedx(doc: dict[str, Any]) -> bool:
    return "bomFormat" in doc or (doc.get("$schema", "") or "").startswith("http://cyclonedx.org/schema/")


def component(obj: dict[str, Any]) -> Component:
    """One component's index entry. Written with inline exact-type checks (``type(x) is``,
    right for orjson's plain dicts, lists and strs): it runs once per component, tens of
    thousands of times per SBOM; helper calls were a third of it, isinstance a sixth."""
    hashes: dict[str, str] = {}
    raw = obj.get("hashes")
    if type(raw) is list:
        for entry in raw:
            if type(entry) is dict:
                alg, content = entry.get("alg"), entry.get("content")
                if type(alg) is str and alg and type(content) is str and content:
                    hashes[alg] = content
    purl, name, version = obj.get("purl"), obj.get("name"), obj.get("version")
    purl = purl if type(purl) is str else None
    return Component(
        name if type(name) is str and name else purl or "(unnamed)",
        purl,
        version if type(version) is str else None,
        hashes,
        _licenses(obj.get("licenses")),
    )


def _licenses(raw: Any) -> list[str]:
    licenses: list[str] = []
    if type(raw) is not list:
        return licenses
    for entry in raw:
        if type(entry) is not dict:
            continue
        value = entry.get("expression")
        if type(value) is not str or not value:
            lic = entry.get("license")
            value = None
            if type(lic) is dict:
                value = lic.get("id")
                if type(value) is not str:
                    value = lic.get("name")
        if type(value) is str and value:
            licenses.append(value)
    return licenses


def walk_components(doc: dict[str, Any]) -> list[Component]:
    """Every component at any nesting depth, in document order."""
    found: list[Component] = []
    stack: list[list[Any]] = [as_list(doc.get("components"))[::-1]]
    while stack:
        level = stack[-1]
        if not level:
            stack.pop()
            continue
        obj = as_dict(level.pop())
        found.append(component(obj))
        children = as_list(obj.get("components"))
        if children:
            stack.append(children[::-1])
    return found


def _tools(metadata: dict[str, Any]) -> list[dict[str, str | None]]:
    tools = metadata.get("tools")
    entries = as_list(tools) if isinstance(tools, list) else as_list(as_dict(tools).get("components"))
    entries += as_list(as_dict(tools).get("services"))
    return [
        {
            "vendor": text(t.get("vendor")) or text(as_dict(t.get("manufacturer")).get("name")),
            "name": text(t.get("name")),
            "version": text(t.get("version")),
        }
        for t in map(as_dict, entries)
    ]


def bom_result(
    fmt: str,
    version: str | None,
    components: list[Component],
    states: list[str | None] | None,
    errors: list[Finding],
    summary: dict[str, Any],
) -> ParsedEvidence:
    """A CycloneDX document's result, JSON or XML: a BOM with vulnerabilities and no
    components is VEX, anything else an SBOM."""
    evidence = Evidence(
        format=fmt,
        spec_version=version,
        evidence_type="vex" if states and not components else "sbom",
        valid=not errors,
        errors=errors,
        summary=summary,
    )
    return ParsedEvidence(evidence, components)


def summarise(
    components: list[Component],
    described: Component | None,
    tools: list[dict[str, str | None]],
    created: str | None,
    serial: str | None,
    vex_states: list[str | None] | None,
) -> dict[str, Any]:
    """The summary shape shared by CycloneDX JSON and XML."""
    summary: dict[str, Any] = {
        "component_count": len(components),
        "described": asdict(described) if described else None,
        "tools": tools,
        "created": created,
        "serial_number": serial,
    }
    if vex_states is not None:
        summary["vulnerability_count"] = len(vex_states)
        summary["vex_states"] = count(vex_states)
    return summary


def parse_cyclonedx_json(doc: dict[str, Any], prefix: str = "") -> ParsedEvidence:
    raw_version = doc.get("specVersion")
    version = str(raw_version) if isinstance(raw_version, str | int | float) else None
    errors: list[Finding] = []
    if doc.get("bomFormat") != "CycloneDX":
        errors.append(Finding(location=join(prefix, "/bomFormat"), message="bomFormat must be 'CycloneDX'"))
    validator = schemas.cyclonedx_json(version) if version else None
    if validator is None:
        errors.append(
            Finding(
                location=join(prefix, "/specVersion"),
                message=unsupported_version(str(version), schemas.CYCLONEDX_JSON_VERSIONS),
            )
        )
    else:
        errors += [
            e for e in schema_findings(validator, doc, prefix) if not e.location.endswith("/bomFormat")
        ]
    metadata = as_dict(doc.get("metadata"))
    components = walk_components(doc)
    vulns = doc.get("vulnerabilities")
    states = None
    if isinstance(vulns, list):
        states = [text(as_dict(as_dict(v).get("analysis")).get("state")) for v in vulns]
    described = (
        component(as_dict(metadata["component"])) if isinstance(metadata.get("component"), dict) else None
    )
    summary = summarise(
        components,
        described,
        _tools(metadata),
        text(metadata.get("timestamp")),
        text(doc.get("serialNumber")),
        states,
    )
    return bom_result(FORMAT, version, components, states, errors, summary)
