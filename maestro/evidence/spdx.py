"""SPDX 2.2/2.3 JSON (and tag-value, via ``spdx_tagvalue``): validation and extraction.

The SPDX 2 spec requires ``created`` as ``YYYY-MM-DDThh:mm:ssZ``; syft, trivy
and ``npm sbom`` write fractional seconds. Those are accepted with a warning,
and become an error under ``ParseOptions.strict``. RDF/XML, XML and YAML
serialisations are detected but not parsed (no safe, cheap parser here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from maestro.evidence import schemas
from maestro.evidence.common import as_dict, as_list, is_rfc3339, join, schema_findings, text
from maestro.evidence.common import unsupported as unsupported_version
from maestro.evidence.model import Component, Evidence, Finding, ParsedEvidence, ParseOptions

_SPDX_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_VERSION = re.compile(r"SPDX-(\d+\.\d+)")
_NO_VALUE = {"NOASSERTION", "NONE", ""}
UNSUPPORTED = "format not supported; convert to JSON"
SUPPORTED = ("2.2", "2.3")
# SPDX 2.3 sections 7.9 and 7.14 (and 2.2's 3.9/3.14): cardinality 0..0 when filesAnalyzed is false
_NEEDS_FILES_ANALYZED = ("packageVerificationCode", "licenseInfoFromFiles")


def is_spdx2(doc: dict[str, Any]) -> bool:
    return "spdxVersion" in doc or ("SPDXID" in doc and "creationInfo" in doc)


def spec_version(raw: object) -> str | None:
    if isinstance(raw, str):
        match = _VERSION.match(raw)
        return match.group(1) if match else raw
    return str(raw) if isinstance(raw, int | float) else None


def _package(pkg: dict[str, Any]) -> Component:
    hashes = {}
    for entry in map(as_dict, as_list(pkg.get("checksums"))):
        alg, value = text(entry.get("algorithm")), text(entry.get("checksumValue"))
        if alg and value:
            hashes[alg] = value
    purl = None
    for ref in map(as_dict, as_list(pkg.get("externalRefs"))):
        if ref.get("referenceType") == "purl" and isinstance(ref.get("referenceLocator"), str):
            purl = ref["referenceLocator"]
            break
    licenses = []
    for key in ("licenseConcluded", "licenseDeclared"):
        value = text(pkg.get(key))
        if value and value not in _NO_VALUE and value not in licenses:
            licenses.append(value)
    name = text(pkg.get("name")) or purl or "(unnamed)"
    return Component(
        purl=purl, name=name, version=text(pkg.get("versionInfo")), hashes=hashes, licenses=licenses
    )


def _described(doc: dict[str, Any], packages: dict[str, Component]) -> Component | None:
    ids = [i for i in as_list(doc.get("documentDescribes")) if isinstance(i, str)]
    for rel in map(as_dict, as_list(doc.get("relationships"))):
        if rel.get("spdxElementId") == "SPDXRef-DOCUMENT" and rel.get("relationshipType") == "DESCRIBES":
            ids.append(str(rel.get("relatedSpdxElement")))
    for spdx_id in ids:
        if spdx_id in packages:
            return packages[spdx_id]
    return None


def _files_analyzed_problems(doc: dict[str, Any], where: Callable[[str], str]) -> list[Finding]:
    """A package whose files were not analysed cannot carry what only analysing them yields."""
    problems = []
    for index, pkg in enumerate(as_list(doc.get("packages"))):
        if not isinstance(pkg, dict) or pkg.get("filesAnalyzed") is not False:
            continue
        for key in _NEEDS_FILES_ANALYZED:
            if key in pkg:
                message = f"{key} must be omitted when filesAnalyzed is false"
                problems.append(Finding(location=where(f"/packages/{index}/{key}"), message=message))
    return problems


def check_created(value: object, options: ParseOptions, where: str) -> tuple[list[Finding], list[Finding]]:
    """(errors, warnings) for creationInfo.created under the leniency rule."""
    if isinstance(value, str) and _SPDX_CREATED.match(value):
        return [], []
    if is_rfc3339(value):
        finding = Finding(
            location=where, message=f"created {value!r} is not YYYY-MM-DDThh:mm:ssZ as SPDX 2 requires"
        )
        return ([finding], []) if options.strict else ([], [finding])
    return [Finding(location=where, message=f"created {value!r} is not a valid timestamp")], []


def parse_spdx_json(
    doc: dict[str, Any],
    options: ParseOptions,
    prefix: str = "",
    fmt: str = "spdx-json",
    locate: Callable[[str], str] | None = None,
) -> ParsedEvidence:
    """Validate and summarise an SPDX 2 document; ``locate`` maps JSON pointers
    to source locations (tag-value passes one that yields ``line N``)."""
    where = locate or (lambda p: join(prefix, p))
    version = spec_version(doc.get("spdxVersion"))
    if version is not None and version.startswith("2.") and version not in SUPPORTED:
        return unsupported_version(fmt, "sbom", version, SUPPORTED, where("/spdxVersion"))
    errors = [
        Finding(location=where(e.location), message=e.message) for e in schema_findings(schemas.spdx2(), doc)
    ]
    errors += _files_analyzed_problems(doc, where)
    created = as_dict(doc.get("creationInfo")).get("created")
    warnings: list[Finding] = []
    if created is not None:
        more, warnings = check_created(created, options, where("/creationInfo/created"))
        errors += more
        warnings = [Finding(location=w.location, message=w.message) for w in warnings]
    by_id: dict[str, Component] = {}
    components: list[Component] = []
    for pkg in map(as_dict, as_list(doc.get("packages"))):
        comp = _package(pkg)
        components.append(comp)
        if isinstance(pkg.get("SPDXID"), str):
            by_id[pkg["SPDXID"]] = comp
    described = _described(doc, by_id)
    creators = [c for c in as_list(as_dict(doc.get("creationInfo")).get("creators")) if isinstance(c, str)]
    summary = {
        "component_count": len(components),
        "file_count": len(as_list(doc.get("files"))),
        "described": asdict(described) if described else None,
        "tools": [c.split(":", 1)[1].strip() for c in creators if c.startswith("Tool:")],
        "creators": creators,
        "created": text(created),
        "document_name": text(doc.get("name")),
        "document_namespace": text(doc.get("documentNamespace")),
    }
    evidence = Evidence(
        format=fmt,
        spec_version=version,
        evidence_type="sbom",
        valid=not errors,
        errors=errors,
        warnings=warnings,
        summary=summary,
    )
    return ParsedEvidence(evidence, components)


def unsupported(fmt: str, head: bytes) -> ParsedEvidence:
    """RDF/XML, XML and YAML SPDX: named and versioned from the head, not parsed."""
    match = re.search(rb"SPDX-(\d+\.\d+)", head)
    version = match.group(1).decode() if match else None
    return ParsedEvidence(
        Evidence(
            format=fmt,
            spec_version=version,
            evidence_type="sbom",
            valid=False,
            errors=[Finding(location="line 1", message=UNSUPPORTED)],
        )
    )
