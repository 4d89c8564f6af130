"""Compiled validators, built once per process and cached.

CycloneDX schemas come from cyclonedx-python-lib's package data; the ones they
reference (SPDX license ids, JSF signatures, cryptography definitions) are
registered under the URIs the ``$ref``s resolve to, and any other retrieval is
refused, so validation can never reach the network.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, NoReturn

import jsonschema_rs
import orjson
from lxml import etree

from maestro.evidence import schema_defs

_CDX_PACKAGE = "cyclonedx.schema._res"
_CDX_BASE = "http://cyclonedx.org/schema/"
_CDX_SHARED = (
    "spdx.SNAPSHOT.schema.json",
    "jsf-0.82.SNAPSHOT.schema.json",
    "cryptography-defs.SNAPSHOT.schema.json",
)
CYCLONEDX_JSON_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
CYCLONEDX_XML_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7")


def _refuse(uri: str) -> NoReturn:
    raise ValueError(f"schema retrieval is disabled ({uri})")


def _resource(name: str) -> Any:
    return orjson.loads(resources.files(_CDX_PACKAGE).joinpath(name).read_bytes())


@cache
def _cdx_registry() -> jsonschema_rs.Registry:
    shared = []
    for name in _CDX_SHARED:
        try:
            shared.append((_CDX_BASE + name, _resource(name)))
        except FileNotFoundError:
            continue
    return jsonschema_rs.Registry(shared, retriever=_refuse)


def _compile(
    schema: dict[str, Any], registry: jsonschema_rs.Registry | None = None
) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema, validate_formats=True, registry=registry, retriever=_refuse)


@cache
def cyclonedx_json(version: str) -> jsonschema_rs.Validator | None:
    """The official validator for a CycloneDX JSON version, None if none ships."""
    if version not in CYCLONEDX_JSON_VERSIONS:
        return None
    try:
        schema = _resource(f"bom-{version}.SNAPSHOT.schema.json")
    except FileNotFoundError:
        return None
    return _compile(schema, _cdx_registry())


@cache
def cyclonedx_xsd(version: str) -> etree.XMLSchema | None:
    """The official XSD for a CycloneDX XML version (local files only)."""
    if version not in CYCLONEDX_XML_VERSIONS:
        return None
    path = resources.files(_CDX_PACKAGE).joinpath(f"bom-{version}.SNAPSHOT.xsd")
    if not path.is_file():
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    with resources.as_file(path) as real_path:
        return etree.XMLSchema(etree.parse(str(real_path), parser=parser))


@cache
def risk() -> jsonschema_rs.Validator:
    return _compile(schema_defs.RISK_SCHEMA)


@cache
def openvex(legacy: bool) -> jsonschema_rs.Validator:
    return _compile(schema_defs.OPENVEX_LEGACY_SCHEMA if legacy else schema_defs.OPENVEX_SCHEMA)


@cache
def sarif() -> jsonschema_rs.Validator:
    return _compile(schema_defs.SARIF_SCHEMA)


@cache
def spdx2() -> jsonschema_rs.Validator:
    return _compile(schema_defs.SPDX2_SCHEMA)
