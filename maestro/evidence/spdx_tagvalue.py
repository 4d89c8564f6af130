"""SPDX 2 tag-value, read into the JSON document shape so one validator and one
extractor serve both serialisations; each JSON pointer remembers its source line.
"""

from __future__ import annotations

from typing import Any

from maestro.evidence.model import EvidenceError, ParsedEvidence, ParseOptions
from maestro.evidence.spdx import parse_spdx_json

FORMAT = "spdx-tag-value"

_DOC_TAGS = {
    "SPDXVersion": "spdxVersion",
    "DataLicense": "dataLicense",
    "DocumentName": "name",
    "DocumentNamespace": "documentNamespace",
    "DocumentComment": "comment",
}
_PACKAGE_TAGS = {
    "PackageVersion": "versionInfo",
    "PackageFileName": "packageFileName",
    "PackageSupplier": "supplier",
    "PackageDownloadLocation": "downloadLocation",
    "PackageHomePage": "homepage",
    "PackageLicenseConcluded": "licenseConcluded",
    "PackageLicenseDeclared": "licenseDeclared",
    "PackageCopyrightText": "copyrightText",
}
_FILE_TAGS = {"LicenseConcluded": "licenseConcluded", "FileCopyrightText": "copyrightText"}


class _Reader:
    """Accumulates the document and a pointer-to-line map while lines stream by."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] = {"creationInfo": {"creators": []}}
        self.lines: dict[str, int] = {"/": 1}
        self.section: tuple[str, dict[str, Any]] | None = None  # ("packages"|"files"|"other", obj)

    def _append(self, key: str, obj: dict[str, Any], line: int) -> None:
        items: list[Any] = self.doc.setdefault(key, [])
        self.lines[f"/{key}/{len(items)}"] = line
        items.append(obj)
        self.section = (key, obj)

    def _set(self, obj: dict[str, Any], base: str, key: str, value: Any, line: int) -> None:
        obj[key] = value
        self.lines[f"{base}/{key}"] = line

    def _base(self) -> str:
        if self.section is None or self.section[0] == "other":
            return ""
        key = self.section[0]
        return f"/{key}/{len(self.doc[key]) - 1}"

    def tag(self, tag: str, value: str, line: int) -> None:
        if tag in _DOC_TAGS and self.section is None:
            self._set(self.doc, "", _DOC_TAGS[tag], value, line)
        elif tag == "SPDXID":
            obj = self.section[1] if self.section else self.doc
            self._set(obj, self._base(), "SPDXID", value, line)
        elif tag == "Creator":
            self.doc["creationInfo"]["creators"].append(value)
            self.lines.setdefault("/creationInfo/creators", line)
        elif tag == "Created":
            self._set(self.doc["creationInfo"], "/creationInfo", "created", value, line)
        elif tag == "PackageName":
            self._append("packages", {"name": value}, line)
        elif tag == "FileName":
            self._append("files", {"fileName": value}, line)
        elif tag in ("SnippetSPDXID", "LicenseID"):
            self.section = ("other", {})
        elif tag == "Relationship":
            parts = value.split()
            rel = dict(zip(("spdxElementId", "relationshipType", "relatedSpdxElement"), parts, strict=False))
            self.lines[f"/relationships/{len(self.doc.setdefault('relationships', []))}"] = line
            self.doc["relationships"].append(rel)
        elif self.section and self.section[0] in ("packages", "files"):
            self._section_tag(tag, value, line)

    def _section_tag(self, tag: str, value: str, line: int) -> None:
        assert self.section is not None
        key, obj = self.section
        base = self._base()
        names = _PACKAGE_TAGS if key == "packages" else _FILE_TAGS
        if tag in names:
            self._set(obj, base, names[tag], value, line)
        elif tag in ("PackageChecksum", "FileChecksum"):
            alg, _, digest = value.partition(":")
            sums = obj.setdefault("checksums", [])
            self.lines[f"{base}/checksums/{len(sums)}"] = line
            sums.append({"algorithm": alg.strip(), "checksumValue": digest.strip()})
        elif tag == "ExternalRef" and key == "packages":
            parts = value.split(None, 2)
            refs = obj.setdefault("externalRefs", [])
            self.lines[f"{base}/externalRefs/{len(refs)}"] = line
            refs.append(
                dict(zip(("referenceCategory", "referenceType", "referenceLocator"), parts, strict=False))
            )

    def locate(self, location: str) -> str:
        """Map a JSON pointer back to the nearest line we recorded."""
        path = location
        while path not in self.lines and "/" in path.strip("/"):
            path = path.rsplit("/", 1)[0]
        return f"line {self.lines.get(path, 1)}"


def read(text: str) -> tuple[dict[str, Any], _Reader]:
    """Tag-value text to (document, reader); raises EvidenceError on a broken line."""
    reader = _Reader()
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        raw, start = lines[index], index + 1
        index += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        tag, sep, value = raw.partition(":")
        if not sep or not tag.strip() or " " in tag.strip():
            raise EvidenceError(f"line {start}", "expected 'Tag: value'")
        value = value.strip()
        if value.startswith("<text>"):
            chunk = [value[len("<text>") :]]
            while "</text>" not in chunk[-1]:
                if index >= len(lines):
                    raise EvidenceError(f"line {start}", "<text> is never closed")
                chunk.append(lines[index])
                index += 1
            value = "\n".join(chunk).split("</text>", 1)[0]
        reader.tag(tag.strip(), value, start)
    return reader.doc, reader


def parse_tag_value(data: bytes, options: ParseOptions) -> ParsedEvidence:
    text = (
        data.decode("utf-8-sig", errors="strict")
        if not data.startswith((b"\xff\xfe", b"\xfe\xff"))
        else (data.decode("utf-16"))
    )
    doc, reader = read(text)
    return parse_spdx_json(doc, options, fmt=FORMAT, locate=reader.locate)
