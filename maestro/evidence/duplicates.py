"""Duplicate keys in JSON objects: found cheaply, located exactly.

orjson keeps the last of duplicate keys and cannot report them, and a second,
stdlib parse costs about as much as the whole SBOM ingestion did. The cheap
test relies on this: outside strings every ``:`` in a JSON text separates a key
from its value, and a colon inside a string stays a raw ``:`` when orjson
writes the parsed value back (only the escape ``\\u003a`` hides one in the
input). So the input has more colons than ``orjson.dumps(value)`` exactly when
a duplicate key (and the value it carried) was dropped. Counting bytes and one
fast re-serialisation cost a few percent of a parse; the stdlib parse that
names each duplicate and its JSON pointer runs only when a duplicate exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

MAX_REPORTED = 10
_HIDDEN_COLONS = (b"\\u003a", b"\\u003A")


@dataclass(frozen=True, slots=True)
class Duplicate:
    location: str  # JSON pointer to the repeated member
    key: str


def may_have_duplicates(text: str | bytes, value: Any) -> bool:
    """False only when ``value`` (orjson's parse of ``text``) provably dropped no key."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if b"\\" in raw and b"\\u003" in raw and any(hidden in raw for hidden in _HIDDEN_COLONS):
        return True  # memchr for a backslash first: most documents have none, and then no escape
    try:
        written = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return True
    return raw.count(b":") != written.count(b":")


def duplicates(text: str | bytes, value: Any) -> list[Duplicate]:
    """The duplicate keys of a document orjson parsed as ``value``; [] at the cost of the cheap test."""
    return find_duplicates(text) if may_have_duplicates(text, value) else []


def message(duplicate: Duplicate) -> str:
    return f"duplicate key {duplicate.key!r} in a JSON object"


def find_duplicates(text: str | bytes) -> list[Duplicate]:
    """Every duplicate key (at most MAX_REPORTED), with its location, in document order."""
    flagged: list[tuple[dict[str, Any], list[str]]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            repeated: dict[str, None] = {}
            for key, _ in pairs:
                if key in seen:
                    repeated[key] = None
                seen.add(key)
            flagged.append((obj, list(repeated)))
        return obj

    try:
        root = json.loads(text, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):
        return [Duplicate("/", "?")] if not flagged else _unlocated(flagged)
    return _locate(root, {id(obj): keys for obj, keys in flagged})


def _unlocated(flagged: list[tuple[dict[str, Any], list[str]]]) -> list[Duplicate]:
    return [Duplicate("/", key) for _, keys in flagged for key in keys][:MAX_REPORTED]


def _pointer(parts: tuple[str | int, ...]) -> str:
    """RFC 6901, as ``jsonload.pointer`` writes it (kept here so jsonload can import this module)."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _locate(root: Any, wanted: dict[int, list[str]]) -> list[Duplicate]:
    """Walk the stdlib tree (only on this rare path) to turn flagged objects into pointers."""
    found: list[Duplicate] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while stack and wanted and len(found) < MAX_REPORTED:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key in wanted.pop(id(node), []):
                found.append(Duplicate(_pointer((*path, key)), key))
            stack.extend((v, (*path, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
    return found[:MAX_REPORTED]
