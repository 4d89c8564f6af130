"""Small, valid evidence documents built in code, so tests need no corpus."""

from __future__ import annotations

import io
import tarfile
import zipfile
from typing import Any

import orjson

RISK_URI = "https://maestro.dev/risk-assessment/v1"
SHA256 = "a" * 64


def cyclonedx(n: int = 3, version: str = "1.6") -> dict[str, Any]:
    components = [
        {
            "type": "library",
            "bom-ref": f"c{i}",
            "name": f"lib{i}",
            "version": f"1.{i}.0",
            "purl": f"pkg:pypi/lib{i}@1.{i}.0",
            "hashes": [{"alg": "SHA-256", "content": SHA256}],
            "licenses": [{"license": {"id": "MIT"}}],
        }
        for i in range(n)
    ]
    if components:
        components[0]["components"] = [{"type": "library", "name": "nested", "version": "0.1"}]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": version,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "timestamp": "2024-05-01T12:00:00Z",
            "tools": {"components": [{"type": "application", "name": "maestro-test", "version": "1"}]},
            "component": {"type": "application", "name": "app", "version": "2.0", "purl": "pkg:pypi/app@2.0"},
        },
        "components": components,
    }


def cyclonedx_xml(version: str = "1.5") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/{version}" version="1"
     serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79">
  <metadata>
    <timestamp>2024-05-01T12:00:00Z</timestamp>
    <component type="application"><name>app</name><version>2.0</version></component>
  </metadata>
  <components>
    <component type="library">
      <name>lib</name><version>1.0</version>
      <hashes><hash alg="SHA-256">{SHA256}</hash></hashes>
      <licenses><license><id>MIT</id></license></licenses>
      <purl>pkg:pypi/lib@1.0</purl>
      <components>
        <component type="library"><name>inner</name><version>0.1</version></component>
      </components>
    </component>
  </components>
</bom>
""".encode()


def spdx_json(created: str = "2024-05-01T12:00:00Z") -> dict[str, Any]:
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "app",
        "documentNamespace": "https://example.com/spdx/app-2.0",
        "creationInfo": {"created": created, "creators": ["Tool: maestro-test-1"]},
        "documentDescribes": ["SPDXRef-app"],
        "packages": [
            {
                "SPDXID": "SPDXRef-app",
                "name": "app",
                "versionInfo": "2.0",
                "downloadLocation": "NOASSERTION",
                "checksums": [{"algorithm": "SHA256", "checksumValue": SHA256}],
                "licenseConcluded": "MIT",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:pypi/app@2.0",
                    }
                ],
            }
        ],
    }


SPDX_TAG_VALUE = f"""SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: app
DocumentNamespace: https://example.com/spdx/app-2.0
Creator: Tool: maestro-test-1
Created: 2024-05-01T12:00:00Z
DocumentComment: <text>two
lines</text>

PackageName: app
SPDXID: SPDXRef-app
PackageVersion: 2.0
PackageDownloadLocation: NOASSERTION
PackageChecksum: SHA256: {SHA256}
PackageLicenseConcluded: MIT
ExternalRef: PACKAGE-MANAGER purl pkg:pypi/app@2.0
Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-app
"""


def risk(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_type": RISK_URI,
        "assessor": "security-team",
        "date": "2024-05-01T12:00:00Z",
        "scope": "release 2.0",
        "overall_rating": "medium",
        "risks": [
            {"id": "R1", "title": "Unpinned base image", "severity": "high", "status": "open"},
            {
                "id": "R2",
                "title": "Old TLS",
                "severity": "medium",
                "status": "mitigated",
                "justification": "proxy",
            },
            {
                "id": "R3",
                "title": "Debug log",
                "severity": "low",
                "status": "accepted",
                "justification": "internal",
            },
        ],
    }
    doc.update(changes)
    return doc


def dumps(doc: Any) -> bytes:
    return orjson.dumps(doc)


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def tar_of(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for item in members:
            if isinstance(item, tarfile.TarInfo):
                archive.addfile(item)
            else:
                info = tarfile.TarInfo(item[0])
                info.size = len(item[1])
                archive.addfile(info, io.BytesIO(item[1]))
    return buffer.getvalue()
