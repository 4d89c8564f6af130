"""CycloneDX XML (1.0-1.7): the namespace gives the version, the official XSD
from cyclonedx-python-lib validates the already safely-parsed tree.

The XSD is applied to our own tree rather than through the library's
validator, so the DOCTYPE refusal in ``xmlload`` governs every byte read.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from maestro.evidence import schemas
from maestro.evidence.common import MAX_ERRORS, unsupported_version
from maestro.evidence.cyclonedx import bom_result, summarise
from maestro.evidence.model import Component, Finding, ParsedEvidence
from maestro.evidence.xmlload import local_name, namespace

FORMAT = "cyclonedx-xml"
NS_PREFIX = "http://cyclonedx.org/schema/bom/"


def _child(element: etree._Element, ns: str, *path: str) -> etree._Element | None:
    node: etree._Element | None = element
    for name in path:
        if node is None:
            return None
        node = node.find(f"{{{ns}}}{name}")
    return node


def _text(element: etree._Element, ns: str, *path: str) -> str | None:
    node = _child(element, ns, *path)
    value = node.text if node is not None else None
    return value.strip() if value else None


def _component(element: etree._Element, ns: str) -> Component:
    hashes = {}
    for node in element.iterfind(f"{{{ns}}}hashes/{{{ns}}}hash"):
        alg = node.get("alg")
        if alg and node.text:
            hashes[alg] = node.text.strip()
    licenses: list[str] = []
    for node in element.iterfind(f"{{{ns}}}licenses/*"):
        value = (
            _text(node, ns, "id") or _text(node, ns, "name")
            if local_name(node.tag) == "license"
            else node.text
        )
        if value and value.strip():
            licenses.append(value.strip())
    purl = _text(element, ns, "purl")
    name = _text(element, ns, "name") or purl or "(unnamed)"
    return Component(
        purl=purl, name=name, version=_text(element, ns, "version"), hashes=hashes, licenses=licenses
    )


def _components(root: etree._Element, ns: str) -> list[Component]:
    """Components at any depth; lxml's iterfind with a fixed path per level, no recursion."""
    found: list[Component] = []
    stack = [root]
    while stack:
        parent = stack.pop()
        children = list(parent.iterfind(f"{{{ns}}}components/{{{ns}}}component"))
        for child in children:
            found.append(_component(child, ns))
        stack.extend(reversed(children))
    return found


def _tools(root: etree._Element, ns: str) -> list[dict[str, str | None]]:
    tools = _child(root, ns, "metadata", "tools")
    if tools is None:
        return []
    entries = [*tools.iterfind(f"{{{ns}}}tool"), *tools.iterfind(f"{{{ns}}}components/{{{ns}}}component")]
    return [
        {"vendor": _text(t, ns, "vendor"), "name": _text(t, ns, "name"), "version": _text(t, ns, "version")}
        for t in entries
    ]


def _xsd_errors(root: etree._Element, version: str) -> list[Finding]:
    xsd = schemas.cyclonedx_xsd(version)
    if xsd is None:
        return [Finding(location="line 1", message=f"no XSD available for CycloneDX {version}")]
    if xsd.validate(root):
        return []
    errors = [Finding(location=f"line {e.line}", message=e.message) for e in list(xsd.error_log)[:MAX_ERRORS]]
    return errors or [Finding(location="line 1", message="does not match the CycloneDX XSD")]


def parse_cyclonedx_xml(root: etree._Element) -> ParsedEvidence:
    ns = namespace(root.tag)
    version = ns[len(NS_PREFIX) :] if ns.startswith(NS_PREFIX) else None
    if version not in schemas.CYCLONEDX_XML_VERSIONS:
        found = ns or "(none)"
        said = ns.rsplit("/", 1)[-1] if ns.startswith(NS_PREFIX[:-1]) else found
        message = f"{unsupported_version(said, schemas.CYCLONEDX_XML_VERSIONS)}: namespace {found}"
        errors = [Finding(location=f"line {root.sourceline or 1}", message=message)]
        version = None
    else:
        errors = _xsd_errors(root, version)
    components = _components(root, ns)
    meta_component = _child(root, ns, "metadata", "component")
    vulns = _child(root, ns, "vulnerabilities")
    states: list[str | None] | None = None
    if vulns is not None:
        states = [_text(v, ns, "analysis", "state") for v in vulns.iterfind(f"{{{ns}}}vulnerability")]
    summary: dict[str, Any] = summarise(
        components,
        _component(meta_component, ns) if meta_component is not None else None,
        _tools(root, ns),
        _text(root, ns, "metadata", "timestamp"),
        root.get("serialNumber"),
        states,
    )
    return bom_result(FORMAT, version, components, states, errors, summary)
