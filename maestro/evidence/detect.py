"""Format sniffing from raw bytes, before any real parsing.

The container (archive, JSON, XML, tag-value, text) decides which parser runs;
the document's own keys or root element then decide the format. Filenames and
the declared kind are never trusted for this: uploads are often misnamed.
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

Container = Literal["zip", "tar", "gzip", "json", "xml", "tag-value", "yaml", "text", "binary", "empty"]

_HEAD = 65536
_PROLOG = re.compile(
    rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)", re.DOTALL | re.IGNORECASE
)
_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)")
_TAG_VALUE = re.compile(rb"^SPDXVersion:", re.MULTILINE)
_YAML_SPDX = re.compile(rb"^['\"]?spdxVersion['\"]?\s*:", re.MULTILINE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

MEDIA_TYPES: dict[Container, str] = {
    "zip": "application/zip",
    "tar": "application/x-tar",
    "gzip": "application/gzip",
    "json": "application/json",
    "xml": "application/xml",
    "tag-value": "text/spdx",
    "yaml": "application/yaml",
    "text": "text/plain",
    "binary": "application/octet-stream",
    "empty": "application/octet-stream",
}


def head_text(data: bytes) -> bytes:
    """The first 64 KiB as UTF-8-ish bytes (UTF-16 transcoded, UTF-8 BOM dropped)."""
    head = data[: _HEAD * 2]
    if head.startswith(_UTF16_BOMS):
        return head.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    if head.startswith(codecs.BOM_UTF8):
        return head[3:]
    return head[:_HEAD]


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a multi-byte character cut by the slice is fine
    return False


def sniff(data: bytes) -> Container:
    """Which container the bytes are; cheap, looks at magic numbers and the head."""
    if not data.strip():
        return "empty"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    if len(data) >= 262 and data[257:262] == b"ustar":
        return "tar"
    head = head_text(data)
    if _looks_binary(head):
        return "binary"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "json"
    if stripped[:1] == b"<":
        return "xml"
    if _YAML_SPDX.search(head):
        return "yaml"
    if _TAG_VALUE.search(head):
        return "tag-value"
    return "text"


def xml_root(data: bytes) -> str | None:
    """The root element's qualified name, skipping the prolog and any DOCTYPE,
    without parsing; used only to name the format of XML that is refused."""
    head = head_text(data)
    pos = 0
    while True:
        match = _PROLOG.match(head, pos)
        if match is None:
            break
        pos = match.end()
    root = _ROOT.match(head, pos)
    return root.group(1).decode("ascii", "replace") if root else None


def looks_like_json_lines(data: bytes) -> bool:
    """Several non-empty lines, each one starting a JSON object (``*.jsonl``)."""
    lines = [line for line in data.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith(b"{") for line in lines[:3])
