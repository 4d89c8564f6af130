"""Compact JSON Schemas written for Maestro where no installed package ships one.

They check the fields Maestro relies on and the spec's hard requirements, not
every optional property: a small schema is easy to audit and cannot fetch
anything. CycloneDX uses the official schemas from cyclonedx-python-lib.
"""

from __future__ import annotations

from typing import Any

RISK_URI = "https://maestro.dev/risk-assessment/v1"

_NONEMPTY = {"type": "string", "minLength": 1}
_DATETIME = {"type": "string", "format": "date-time"}
SEVERITIES = ["low", "medium", "high", "critical"]
RISK_STATUSES = ["open", "mitigated", "accepted"]

RISK_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": RISK_URI,
    "title": "Maestro risk assessment v1",
    "type": "object",
    "required": ["assessor", "date", "scope", "risks", "overall_rating"],
    "properties": {
        "_type": {"const": RISK_URI},
        "schema": {"const": RISK_URI},
        "assessor": _NONEMPTY,
        "date": _DATETIME,
        "scope": _NONEMPTY,
        "overall_rating": {"enum": SEVERITIES},
        "risks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "severity", "status"],
                "properties": {
                    "id": _NONEMPTY,
                    "title": _NONEMPTY,
                    "severity": {"enum": SEVERITIES},
                    "status": {"enum": RISK_STATUSES},
                    "justification": {"type": "string"},
                },
                "if": {"properties": {"status": {"enum": ["mitigated", "accepted"]}}},
                "then": {"required": ["justification"], "properties": {"justification": _NONEMPTY}},
            },
        },
    },
}

_VEX_STATUS = {"enum": ["not_affected", "affected", "fixed", "under_investigation"]}
_VEX_PRODUCT = {
    "anyOf": [_NONEMPTY, {"type": "object", "required": ["@id"], "properties": {"@id": _NONEMPTY}}]
}
_VEX_VULN = {
    "anyOf": [_NONEMPTY, {"type": "object", "required": ["name"], "properties": {"name": _NONEMPTY}}]
}

OPENVEX_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["@context", "@id", "author", "timestamp", "version", "statements"],
    "properties": {
        "@context": {"type": "string", "pattern": "^https://openvex\\.dev/ns"},
        "@id": _NONEMPTY,
        "author": _NONEMPTY,
        "timestamp": _DATETIME,
        "version": {"type": "integer", "minimum": 1},
        "statements": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["vulnerability", "status"],
                "properties": {
                    "vulnerability": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": _NONEMPTY},
                    },
                    "products": {"type": "array", "items": _VEX_PRODUCT},
                    "status": _VEX_STATUS,
                    "timestamp": _DATETIME,
                },
                "allOf": [
                    {
                        "if": {"properties": {"status": {"const": "not_affected"}}},
                        "then": {
                            "anyOf": [{"required": ["justification"]}, {"required": ["impact_statement"]}]
                        },
                    },
                    {
                        "if": {"properties": {"status": {"const": "affected"}}},
                        "then": {"required": ["action_statement"]},
                    },
                ],
            },
        },
    },
}

OPENVEX_LEGACY_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["@context", "@id", "author", "timestamp", "statements"],
    "properties": {
        "@context": {"type": "string", "pattern": "^https://openvex\\.dev/ns"},
        "author": _NONEMPTY,
        "timestamp": _DATETIME,
        "statements": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["vulnerability", "status"],
                "properties": {
                    "vulnerability": _VEX_VULN,
                    "products": {"type": "array", "items": _VEX_PRODUCT},
                    "status": _VEX_STATUS,
                },
            },
        },
    },
}

SARIF_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": _NONEMPTY,
                                    "rules": {
                                        "type": "array",
                                        "items": {"type": "object", "required": ["id"]},
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "ruleId": {"type": "string"},
                                "message": {
                                    "type": "object",
                                    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
                                },
                                "locations": {"type": "array"},
                            },
                        },
                    },
                },
            },
        },
    },
}

_CHECKSUM = {
    "type": "object",
    "required": ["algorithm", "checksumValue"],
    "properties": {"algorithm": _NONEMPTY, "checksumValue": {"type": "string", "pattern": "^[0-9a-fA-F]+$"}},
}

SPDX2_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace", "creationInfo"],
    "properties": {
        "spdxVersion": {"type": "string", "pattern": "^SPDX-2\\.[0-3]$"},
        "dataLicense": {"const": "CC0-1.0"},
        "SPDXID": {"const": "SPDXRef-DOCUMENT"},
        "name": {"type": "string"},
        "documentNamespace": _NONEMPTY,
        "creationInfo": {
            "type": "object",
            "required": ["created", "creators"],
            "properties": {
                "created": {"type": "string"},
                "creators": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            },
        },
        "packages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["SPDXID", "name", "downloadLocation"],
                "properties": {
                    "SPDXID": {"type": "string", "pattern": "^SPDXRef-[A-Za-z0-9.\\-]+$"},
                    "name": {"type": "string"},
                    "versionInfo": {"type": "string"},
                    "downloadLocation": _NONEMPTY,
                    "checksums": {"type": "array", "items": _CHECKSUM},
                    "externalRefs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["referenceCategory", "referenceType", "referenceLocator"],
                        },
                    },
                },
            },
        },
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                # SPDX 2.2 section 8.4 and the official 2.3 schema: a file's checksums are mandatory
                "required": ["SPDXID", "fileName", "checksums"],
                "properties": {"checksums": {"type": "array", "minItems": 1, "items": _CHECKSUM}},
            },
        },
        "relationships": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["spdxElementId", "relationshipType", "relatedSpdxElement"],
            },
        },
    },
}
