"""JSON for PostgreSQL's JSONB that reads back as it was written.

JSONB stores numbers as ``numeric`` and prints them without an exponent, so a float
such as ``5.200000000000001e16`` (orjson's shortest form) would come back as the
integer ``52000000000000010``: another type and another value. Floats that orjson
writes with an exponent (``e+``, |x| >= 1e16, always integral) are written instead
as their exact integer value with ``.0``, which JSONB keeps and orjson reads back as
the same float. Only documents whose output contains ``e+`` pay for the walk.
"""

from __future__ import annotations

import math
from typing import Any

import orjson


def dumps(value: Any) -> str:
    out = orjson.dumps(value)
    if b"e+" not in out:
        return out.decode()
    return orjson.dumps(_exact(value)).decode()


def _exact(value: Any) -> Any:
    if isinstance(value, float):
        return orjson.Fragment(f"{int(value)}.0") if math.isfinite(value) and abs(value) >= 1e16 else value
    if isinstance(value, dict):
        return {key: _exact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    return value
