"""SPDX 3.0 JSON-LD: checked by hand against the core model's hard rules.

No SPDX 3 JSON Schema ships in an installed package, and the JSON-LD context
must not be fetched, so the graph is read as plain JSON: every element needs a
``type`` and an ``spdxId`` (CreationInfo blank nodes an ``@id``), CreationInfo
needs specVersion/created/createdBy, and there must be one SpdxDocument.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from maestro.evidence.common import as_dict, as_list, is_rfc3339, join, text, unsupported
from maestro.evidence.jsonload import pointer
from maestro.evidence.model import Component, Evidence, Finding, ParsedEvidence

FORMAT = "spdx3-jsonld"
_PACKAGE_TYPES = {"software_Package", "ai_AIPackage", "dataset_DatasetPackage"}
_LICENSE_RELS = {"hasConcludedLicense", "hasDeclaredLicense"}


def is_spdx3(doc: dict[str, Any]) -> bool:
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return "@graph" in doc and any(isinstance(c, str) and "spdx.org/rdf/3" in c for c in contexts)


def _check(graph: list[Any], prefix: str) -> tuple[list[Finding], str | None, str | None]:
    errors: list[Finding] = []
    version = created = None
    documents = 0
    for index, raw in enumerate(graph):
        at = join(prefix, pointer("@graph", index))
        element = as_dict(raw)
        kind = text(element.get("type"))
        if kind is None:
            errors.append(Finding(location=at, message="element has no type"))
            continue
        if kind == "CreationInfo":
            for key in ("specVersion", "created", "createdBy"):
                if key not in element:
                    errors.append(Finding(location=at, message=f"CreationInfo needs {key}"))
            if not is_rfc3339(element.get("created", "")):
                errors.append(
                    Finding(location=f"{at}/created", message="created is not an RFC 3339 timestamp")
                )
            version = version or text(element.get("specVersion"))
            created = created or text(element.get("created"))
        elif not text(element.get("spdxId")) and not text(element.get("@id")):
            errors.append(Finding(location=at, message=f"{kind} has no spdxId"))
        documents += kind == "SpdxDocument"
    if documents != 1:
        errors.append(
            Finding(location=join(prefix, "/@graph"), message=f"expected one SpdxDocument, found {documents}")
        )
    return errors, version, created


def _components(graph: list[dict[str, Any]]) -> tuple[list[Component], dict[str, Component]]:
    by_id = {text(e.get("spdxId")) or "": e for e in graph}
    licenses: dict[str, list[str]] = {}
    for rel in graph:
        if rel.get("type") == "Relationship" and rel.get("relationshipType") in _LICENSE_RELS:
            for target in as_list(rel.get("to")):
                expression = text(as_dict(by_id.get(str(target))).get("simplelicensing_licenseExpression"))
                if expression:
                    licenses.setdefault(str(rel.get("from")), []).append(expression)
    found: list[Component] = []
    index: dict[str, Component] = {}
    for element in graph:
        if element.get("type") not in _PACKAGE_TYPES:
            continue
        hashes = {
            str(h.get("algorithm")): str(h.get("hashValue"))
            for h in map(as_dict, as_list(element.get("verifiedUsing")))
            if h.get("type") == "Hash" and h.get("algorithm") and h.get("hashValue")
        }
        spdx_id = text(element.get("spdxId")) or ""
        comp = Component(
            purl=text(element.get("software_packageUrl")),
            name=text(element.get("name")) or spdx_id or "(unnamed)",
            version=text(element.get("software_packageVersion")),
            hashes=hashes,
            licenses=sorted(set(licenses.get(spdx_id, []))),
        )
        found.append(comp)
        index[spdx_id] = comp
    return found, index


def _described(graph: list[dict[str, Any]], packages: dict[str, Component]) -> Component | None:
    """Follow rootElement from the SpdxDocument, through an Sbom if there is one."""
    by_id = {text(e.get("spdxId")) or "": e for e in graph}
    frontier = [e for e in graph if e.get("type") == "SpdxDocument"]
    for _ in range(3):
        roots = [str(r) for e in frontier for r in as_list(e.get("rootElement"))]
        for root in roots:
            if root in packages:
                return packages[root]
        frontier = [as_dict(by_id.get(r)) for r in roots]
    return None


def parse_spdx3(doc: dict[str, Any], prefix: str = "") -> ParsedEvidence:
    raw_graph = doc.get("@graph")
    if not isinstance(raw_graph, list):
        errors = [Finding(location=join(prefix, "/@graph"), message="@graph must be an array")]
        return ParsedEvidence(Evidence(format=FORMAT, evidence_type="sbom", valid=False, errors=errors))
    errors, version, created = _check(raw_graph, prefix)
    if version is not None and not version.startswith("3.0."):
        return unsupported(FORMAT, "sbom", version, ("3.0.x",), join(prefix, "/@graph"))
    graph = [e for e in raw_graph if isinstance(e, dict)]
    components, packages = _components(graph)
    described = _described(graph, packages)
    summary = {
        "component_count": len(components),
        "element_count": len(graph),
        "described": asdict(described) if described else None,
        "tools": sorted({n for e in graph if e.get("type") == "Tool" and (n := text(e.get("name")))}),
        "created": created,
        "document_namespace": next(
            (text(e.get("spdxId")) for e in graph if e.get("type") == "SpdxDocument"), None
        ),
    }
    evidence = Evidence(
        format=FORMAT,
        spec_version=version,
        evidence_type="sbom",
        valid=not errors,
        errors=errors[:50],
        summary=summary,
    )
    return ParsedEvidence(evidence, components)
