"""Parsing of option values that Click has no type for: KEY=VALUE pairs and timestamps.

Bad values raise ``typer.BadParameter`` so Click reports them as usage errors
(exit 2) with the option's name, before any request is sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer


def parse_pairs(pairs: list[str] | None, option: str = "--metadata") -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``: a value is JSON when it parses, else a string.

    So ``priority=high`` stays a string while ``retries=3``, ``draft=false`` and
    ``tags=["a","b"]`` keep their JSON types, and ``key=null`` (a JSON null) lets
    ``runs update`` delete a key through the server's merge patch.
    """
    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        try:
            result[key] = json.loads(raw)
        except ValueError:
            result[key] = raw
    return result


def parse_timestamp(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time with a zone (``2025-11-22T10:30:00Z``); the server refuses naive times."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time such as 2025-11-22T10:30:00Z", param_hint=option
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} has no time zone; add Z or an offset such as +02:00", param_hint=option
        )
    return parsed
