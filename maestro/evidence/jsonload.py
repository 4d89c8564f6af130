"""Strict JSON loading for evidence: fast (orjson), bounded, and duplicate-key aware.

orjson already refuses NaN/Infinity, lone surrogates and nesting deeper than
1024, but it keeps the last of duplicate keys. Where a signature covers the
bytes (DSSE payloads) a second ``subject`` key is a parser-differential attack,
so ``reject_duplicates=True`` refuses any duplicate, naming it and where it is
(found as ``duplicates`` describes: cheaply, re-read only when one exists).
"""

from __future__ import annotations

import codecs
from typing import Any

import orjson

from maestro.evidence import duplicates
from maestro.evidence.model import EvidenceError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes) -> str | bytes:
    """UTF-8 bytes pass through untouched (orjson reads them); a BOM selects the codec."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise EvidenceError(f"byte {exc.start}", f"not valid {codec}") from None
    return data


def load_json(data: bytes, *, reject_duplicates: bool = False) -> Any:
    """Parse JSON or raise EvidenceError saying where it broke."""
    text = decode_text(data)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise EvidenceError(f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}") from None
    if reject_duplicates:
        found = duplicates.duplicates(text, value)
        if found:
            raise EvidenceError(found[0].location, duplicates.message(found[0]))
    return value


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) for error locations."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + "/".join(escaped)
