"""RFC 8785 (JCS) bytes of JSON data, fast where that is provably the same thing.

The ``rfc8785`` package is the reference and decides every case it is given, but it
is pure Python: about 0.2 ms for a gate answer, twice per recorded evaluation (the
answer's digest, the VSA statement), the largest part of what recording a verdict
cost. orjson with sorted keys writes the same bytes as RFC 8785 except in three
places, and each is detected and handed to ``rfc8785``:

- numbers: RFC 8785 formats floats its own way and refuses integers beyond 2**53;
  data holding a float or such an integer goes to ``rfc8785`` (the walk is cheap);
- key order: RFC 8785 sorts by UTF-16 code units, orjson by UTF-8 bytes; they agree
  below U+E000, and any character from U+E000 up starts with a UTF-8 byte of 0xEE or
  more, so output holding such a byte goes to ``rfc8785``;
- strings: both escape exactly ``"``, ``\\`` and the control characters, the same way.

``tests/maestro/test_canonical_json.py`` holds the two serialisers to the same bytes.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

_SAFE_INT = 2**53 - 1


def dumps(data: Any) -> bytes:
    """RFC 8785 bytes of ``data``; ``rfc8785``'s errors for what JCS cannot represent."""
    if not _needs_reference(data):
        out = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        if not out or max(out) < 0xEE:
            return out
    return rfc8785.dumps(data)


def without_numbers_check(data: Any) -> bytes:
    """``dumps`` for data the caller knows holds no float and no integer beyond 2**53."""
    out = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    return out if not out or max(out) < 0xEE else rfc8785.dumps(data)


def _needs_reference(data: Any) -> bool:
    """True when the data holds a number orjson would write differently from RFC 8785
    (a float, an integer beyond 2**53), or anything but plain dict (with str keys),
    list, tuple, str, int, bool and None: subclasses and other types are the
    reference's to write or refuse."""
    stack = [data]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            if any(type(key) is not str for key in node):
                return True
            stack.extend(node.values())
        elif kind is list or kind is tuple:
            stack.extend(node)
        elif kind is int:
            if not -_SAFE_INT <= node <= _SAFE_INT:
                return True
        elif not (kind is str or kind is bool or node is None):
            return True  # float, and any type the reference decides about
    return False
