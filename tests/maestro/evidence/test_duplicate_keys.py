"""Duplicate JSON keys: a located warning outside strict mode, a located error under strict.

The cheap test in ``duplicates`` must never miss one (it decides whether the exact,
slow check runs at all), so hypothesis compares it with a reference on documents
that carry colons inside strings, escaped colons, whitespace before colons and
nested duplicates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maestro.evidence.duplicates import MAX_REPORTED, duplicates, find_duplicates, may_have_duplicates
from maestro.evidence.model import Evidence, ParseOptions
from maestro.evidence.registry import parse_evidence

LARAVEL = "cyclonedx/laravel-bom.1.4.json"
SPDX = "spdx/SPDXJSONExample-v2.3.spdx.json"


def parse(data: bytes, strict: bool = False) -> Evidence:
    return parse_evidence(data, ParseOptions(strict=strict)).evidence


def with_duplicate(data: bytes, marker: bytes, extra: bytes) -> bytes:
    """The real file with ``extra`` (a member) inserted after the first ``marker``."""
    at = data.index(marker) + len(marker)
    return data[:at] + extra + data[at:]


def test_real_json_files_have_no_duplicate_findings(
    corpus_dir: Path, corpus_manifest: list[dict[str, str]]
) -> None:
    for row in corpus_manifest:
        if row["path"].endswith((".json", ".sarif", ".sigstore", ".jsonl", ".attestation")):
            evidence = parse((corpus_dir / row["path"]).read_bytes())
            assert not [w for w in evidence.warnings if "duplicate key" in w.message], row["path"]


def test_duplicate_in_a_real_sbom_is_a_located_warning(corpus_dir: Path) -> None:
    data = (corpus_dir / LARAVEL).read_bytes()
    doc = json.loads(data)
    first = doc["components"][0]
    marker = json.dumps(first["name"]).encode()  # the first component's name value
    forged = with_duplicate(data, b'"name": ' + marker, b', "name": "hidden-component"')
    evidence = parse(forged)
    assert evidence.valid
    found = [w for w in evidence.warnings if "duplicate key 'name'" in w.message]
    assert [w.location for w in found] == ["/components/0/name"], evidence.warnings
    assert "the last value is used" in found[0].message


def test_strict_refuses_the_duplicate_at_its_location(corpus_dir: Path) -> None:
    data = (corpus_dir / SPDX).read_bytes()
    forged = with_duplicate(data, b'"packages" : [ {', b' "SPDXID" : "SPDXRef-dup",')
    assert parse(forged).valid
    evidence = parse(forged, strict=True)
    assert (evidence.format, evidence.valid) == ("spdx-json", False)
    assert [e.location for e in evidence.errors if "duplicate key" in e.message] == ["/packages/0/SPDXID"]


def test_duplicates_in_json_lines_name_the_line(corpus_dir: Path) -> None:
    lines = (corpus_dir / "provenance/slsa-bcr-MODULE.bazel.intoto.jsonl").read_bytes().splitlines()
    forged = b"\n".join([*lines, with_duplicate(lines[0], b"{", b'"mediaType": "x",')])
    evidence = parse(forged)
    assert [w.location for w in evidence.warnings if "duplicate key" in w.message] == [
        f"line {len(lines) + 1}/mediaType"
    ]


def test_hidden_colons_do_not_hide_a_duplicate() -> None:
    text = b'{"a\\u003a": 1, "b": 2, "b": 3}'  # one colon fewer in the input, one dropped
    assert may_have_duplicates(text, orjson.loads(text))
    assert [d.location for d in find_duplicates(text)] == ["/b"]


def test_reports_are_capped() -> None:
    text = "{" + ",".join(f'"k{i}": 1, "k{i}": 2' for i in range(50)) + "}"
    assert len(find_duplicates(text)) == MAX_REPORTED


def _reference(text: str) -> bool:
    found = False

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({k for k, _ in pairs}) != len(pairs)
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return found


keys = st.sampled_from(["a", "b", "a:b", 'q"', ":", "\u00e9", "k"])
scalars = st.one_of(st.integers(), st.booleans(), st.none(), st.sampled_from(["x", ":", '":', "\\:", "a:b"]))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.lists(st.tuples(keys, inner), max_size=4),
    max_leaves=20,
)


def _render(value: Any, spacing: str, escape: bool) -> str:
    """JSON text with possibly repeated keys (pairs lists become objects)."""
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        items = (f"{_key(k, escape)}{spacing}:{_render(v, spacing, escape)}" for k, v in value)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(v, spacing, escape) for v in value) + "]"
    return json.dumps(value)


def _key(key: str, escape: bool) -> str:
    text = json.dumps(key)
    return text.replace(":", "\\u003a") if escape else text


@settings(max_examples=300, deadline=None)
@given(value=values, spacing=st.sampled_from(["", " ", "\n\t"]), escape=st.booleans())
def test_cheap_test_never_misses_a_duplicate(value: Any, spacing: str, escape: bool) -> None:
    text = _render(value, spacing, escape)
    expected = _reference(text)
    got = duplicates(text.encode(), orjson.loads(text))
    assert bool(got) == expected, text
    if not expected:
        assert not may_have_duplicates(text.encode(), orjson.loads(text)) or escape, text


@pytest.mark.parametrize("strict", [False, True])
def test_dsse_payload_duplicates_are_always_refused(strict: bool) -> None:
    import base64

    payload = b'{"_type": "https://in-toto.io/Statement/v1", "subject": [], "subject": []}'
    envelope = {"payloadType": "application/vnd.in-toto+json", "payload": base64.b64encode(payload).decode(),
                "signatures": [{"sig": "AAAA"}]}  # fmt: skip
    evidence = parse(json.dumps(envelope).encode(), strict=strict)
    assert not evidence.valid
    messages = [(e.location, e.message) for e in evidence.errors]
    assert ("/payload", "signed payload at /subject: duplicate key 'subject' in a JSON object") in messages
