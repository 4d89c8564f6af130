"""The bounded evidence view: whatever a parser produced, the view fits its budget,
says what it cut, and leaves small evidence exactly as it was."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from maestro.evidence.compact import (
    MAX_FINDINGS,
    SUMMARY_BUDGET,
    bound_summary,
    compact,
    compact_json,
    detail,
    member_rows,
)
from maestro.evidence.model import ArchiveMember, Evidence, Finding, Signature

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=400),
    lambda children: (
        st.lists(children, max_size=40) | st.dictionaries(st.text(max_size=40), children, max_size=60)
    ),
    max_leaves=200,
)
findings = st.lists(
    st.builds(Finding, location=st.text(max_size=500), message=st.text(max_size=800)), max_size=60
)


@settings(max_examples=60, deadline=None)
@given(
    summary=st.dictionaries(st.text(max_size=40), json_values, max_size=60),
    errors=findings,
    warnings=findings,
)
def test_view_fits_its_budget_whatever_the_parser_found(
    summary: dict[str, Any], errors: list[Finding], warnings: list[Finding]
) -> None:
    evidence = Evidence(
        format="f" * 1000,
        evidence_type="other",
        valid=not errors,
        errors=errors,
        warnings=warnings,
        summary=summary,
        signature=Signature(status="invalid", detail="d" * 5000),
        members=[ArchiveMember(path="a", size=1)],
    )
    view = compact(evidence)
    assert len(view.model_dump_json()) <= 10_000
    assert len(TypeAdapter(dict[str, Any]).dump_json(view.summary)) <= SUMMARY_BUDGET * 1.1  # float spelling
    assert view.members == []
    assert view.member_count == 1
    assert (view.error_count, view.warning_count) == (len(errors), len(warnings))
    assert view.errors == [
        Finding(location=v.location, message=v.message) for v in view.errors
    ]  # still findings, in order
    assert len(view.errors) == min(len(errors), MAX_FINDINGS)
    assert ("/errors" in view.truncated) == (len(errors) > MAX_FINDINGS)
    assert "/members" in view.truncated
    assert compact(view) == view  # compacting twice changes nothing
    assert compact_json(evidence) == view.model_dump(mode="json")
    plain = evidence.model_copy(update={"members": [], "signature": None})
    assert compact_json(plain) == compact(plain).model_dump(mode="json")


@given(summary=st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=20), max_size=10))
def test_small_evidence_is_shown_whole(summary: dict[str, Any]) -> None:
    errors = [Finding(location="/a", message="bad")]
    evidence = Evidence(
        format="cyclonedx-json", evidence_type="sbom", valid=False, errors=errors, summary=summary
    )
    view = compact(evidence)
    assert view.truncated == []
    assert view.model_dump(exclude={"error_count"}) == evidence.model_dump(exclude={"error_count"})
    assert view.error_count == 1
    assert compact_json(evidence) == view.model_dump(mode="json")


def test_summary_lists_are_cut_and_named_by_pointer() -> None:
    summary = {"subjects": [{"name": "x" * 300, "digest": {"sha256": "0" * 64}} for _ in range(1000)], "n": 1}
    bounded, cuts = bound_summary(summary)
    assert bounded["n"] == 1
    assert 0 < len(bounded["subjects"]) < 1000
    assert "/summary/subjects" in cuts
    assert len(orjson.dumps(bounded)) <= SUMMARY_BUDGET


def test_pointer_escapes_slashes_in_keys() -> None:
    _, cuts = bound_summary({"a/b~c": "y" * 10_000})
    assert cuts == ["/summary/a~1b~0c"]


def test_detail_keeps_everything_but_members() -> None:
    errors = [Finding(location=f"/{i}", message="m" * 500) for i in range(40)]
    member = ArchiveMember(
        path="x.json", size=3, evidence=Evidence(format="f", evidence_type="other", valid=True)
    )
    evidence = Evidence(
        format="zip", evidence_type="archive", valid=False, errors=errors, members=[member] * 3
    )
    full = detail(evidence)
    assert full.errors == errors
    assert full.members == []
    assert full.member_count == 3
    assert full.truncated == ["/members"]
    long_path = ArchiveMember(path="p" * 5000, size=1, skipped="link")
    rows = member_rows(evidence.model_copy(update={"members": [*evidence.members, long_path]}))
    assert [r["position"] for r in rows] == [0, 1, 2, 3]
    assert len(rows[3]["path"]) == 4096
    assert rows[0]["evidence"]["format"] == "f"
