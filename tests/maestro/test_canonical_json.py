"""maestro.canonical_json gives rfc8785's bytes (or its refusal) for any JSON data, and
takes the orjson path for the data Maestro signs most (gate answers, statements)."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from maestro import canonical_json

# every kind of character: astral ones and those from U+E000 (where UTF-8 and UTF-16
# orders part), controls, quotes and backslashes, lone surrogates excluded (not JSON)
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 2**53 too: both must refuse
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_text, inner, max_size=4)
    ),
    max_leaves=25,
)


def _either(fn: Any, data: Any) -> tuple[str, Any]:
    try:
        return "bytes", fn(data)
    except Exception as exc:  # the kind of refusal is what is compared
        return "refused", type(exc).__name__


@settings(max_examples=1500, deadline=None)
@given(data=_json)
def test_the_same_bytes_or_the_same_refusal_as_rfc8785(data: Any) -> None:
    assert _either(canonical_json.dumps, data) == _either(rfc8785.dumps, data)


_safe_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _text
_safe_json = st.recursive(
    _safe_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(data=_safe_json)
def test_without_numbers_check_agrees_where_its_promise_holds(data: Any) -> None:
    assert canonical_json.without_numbers_check(data) == rfc8785.dumps(data)


def test_edge_values_are_decided_by_the_reference() -> None:
    for data in (
        {"big": 2**53},  # refused by RFC 8785; orjson would write it
        {"f": 1e21, "g": 0.1, "h": -0.0},
        {"\ue000": 1, "\U0001f600": 2, "z": 3},  # UTF-16 order differs from UTF-8's
        {1: "non-string key"},
        {"ctl": '\x00\x1f\x7f\u2028"\\/'},
    ):
        assert _either(canonical_json.dumps, data) == _either(rfc8785.dumps, data), data


def test_a_gate_answer_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def reference(_: Any) -> bytes:
        raise AssertionError("plain JSON data reached the pure-Python serialiser")

    monkeypatch.setattr(canonical_json.rfc8785, "dumps", reference)
    answer = {
        "run_id": "0190c0de-0000-7000-8000-000000000001",
        "passed": False,
        "message": "Run status is 'running'; expected 'succeeded'",
        "details": ["a", "b"],
        "results": [{"rule": "run-succeeded", "status": "failed", "evidence": [], "effective_on": None}],
        "policy": {"id": "seed-default", "version": 1, "digest": "sha256:" + "0" * 64},
        "evaluated_at": "2026-12-03T08:00:00.000000Z",
        "size": 2**40,
        "note": "façade ✓",
    }
    assert canonical_json.dumps(answer).startswith(b'{"details":["a","b"],')
