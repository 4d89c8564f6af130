"""Strict JSON loading for evidence: fast (orjson), bounded, and duplicate-key aware.

orjson already refuses NaN/Infinity, lone surrogates and nesting deeper than
1024, but it keeps the last of duplicate keys. Where a signature covers the
bytes (DSSE payloads) a second ``subject`` key is a parser-differential attack,
so ``reject_duplicates=True`` re-reads the document and refuses any duplicate.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

import orjson

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


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise EvidenceError("/", f"duplicate key {key!r} in a JSON object")
        seen[key] = value
    return seen


def load_json(data: bytes, *, reject_duplicates: bool = False) -> Any:
    """Parse JSON or raise EvidenceError saying where it broke."""
    text = decode_text(data)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise EvidenceError(f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}") from None
    if reject_duplicates:
        try:
            json.loads(text, object_pairs_hook=_no_duplicates)
        except RecursionError:  # orjson accepted it, so depth <= 1024; stdlib may still give up
            raise EvidenceError("/", "JSON nested too deeply") from None
    return value


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) for error locations."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + "/".join(escaped)
