"""The input document: canonical JSON (RFC 8785), digests that ignore the order facts
arrive in, and the seed-default verdict equal to the seed's gate for any input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from maestro.checks import ArtifactFlags, evaluate_release_gate
from maestro.models import ArtifactKind, RunStatus
from maestro.policies import builtins, document, engine
from maestro.policies.document import ArtifactFacts, DeclaredFlags, EvidenceFacts, Subject, VerifiedFlags
from tests.maestro.policies.support import NOW, complete, run

VERIFIED = builtins.builtin_spec("verified-evidence")
_text = st.text(max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=12,
)


@st.composite
def artifacts(draw: st.DrawFn) -> list[ArtifactFacts]:
    count = draw(st.integers(0, 6))
    out = []
    for i in range(count):
        flags = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
        verified = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
        evidence = None
        if draw(st.booleans()):
            evidence = EvidenceFacts(
                evidence_type=draw(
                    st.sampled_from(["sbom", "slsa_provenance", "risk_assessment", "vex", "other"])
                ),
                format="f",
                valid=draw(st.booleans()),
                error_count=0,
                subjects=[Subject(digest={"sha256": draw(st.sampled_from(["a" * 64, "b" * 64]))})],
                subject_count=1,
                described=Subject(digest={"sha256": "a" * 64}),
                open_high_or_critical=draw(st.integers(0, 2)),
                vex_statuses={"affected": draw(st.integers(0, 1))},
            )
        out.append(
            ArtifactFacts(
                id=f"a{i}",
                kind=ArtifactKind.OTHER,
                created_at=NOW + timedelta(seconds=draw(st.integers(0, 3))),
                declared=DeclaredFlags(
                    sbom_present=flags[0], slsa_provenance_present=flags[1], risk_assessment_present=flags[2]
                ),
                verified=VerifiedFlags(
                    sbom=verified[0], slsa_provenance=verified[1], risk_assessment=verified[2]
                ),
                evidence=evidence,
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(found=artifacts(), order=st.randoms(use_true_random=False), status=st.sampled_from(list(RunStatus)))
def test_any_artifact_order_gives_the_same_digest_and_verdict(
    found: list[ArtifactFacts], order: Any, status: RunStatus
) -> None:
    shuffled = list(found)
    order.shuffle(shuffled)
    first = document.build(run(status), found, [], NOW)
    second = document.build(run(status), shuffled, [], NOW)
    assert document.canonical(first) == document.canonical(second)
    for policy in (builtins.SEED_DEFAULT, VERIFIED):
        a, b = engine.evaluate(policy, first), engine.evaluate(policy, second)
        assert a.model_dump_json() == b.model_dump_json()
        assert a.input_digest == document.input_digest(first)


@settings(max_examples=150, deadline=None)
@given(found=artifacts(), status=st.sampled_from(list(RunStatus)))
def test_seed_default_answers_as_the_seeds_gate(found: list[ArtifactFacts], status: RunStatus) -> None:
    doc = document.build(run(status), found, [], NOW)
    flags = [
        ArtifactFlags(
            a.id,
            a.kind,
            a.declared.sbom_present,
            a.declared.slsa_provenance_present,
            a.declared.risk_assessment_present,
        )
        for a in doc.artifacts
    ]
    seed = evaluate_release_gate("run-1", status, flags)
    ours = engine.evaluate(builtins.SEED_DEFAULT, doc)
    fields = {"run_id", "passed", "message", "details"}
    assert ours.model_dump_json(include=fields) == seed.model_dump_json(include=fields)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(_text, _json, max_size=4))
def test_canonical_json_is_rfc_8785(data: dict[str, Any]) -> None:
    safe = document._safe_numbers(data)
    assert document.canonical_json(safe) == rfc8785.dumps(safe)


@given(value=st.floats(allow_nan=False, allow_infinity=False), key=st.text(max_size=3))
def test_floats_and_any_key_go_through_rfc_8785(value: float, key: str) -> None:
    data = {key: value, "\U0001f600": 1, "\ue000": 2}
    assert document.canonical_json(data) == rfc8785.dumps(data)


def test_large_integers_in_metadata_are_carried_as_strings() -> None:
    doc = document.build(run(big=2**60, small=7), [], [], NOW)
    assert document.document_json(doc)["run"]["metadata"] == {"big": str(2**60), "small": 7}
    assert document.input_digest(doc).startswith("sha256:")


def test_the_facts_digest_ignores_only_the_instant() -> None:
    now = document.build(run(), complete(), [], NOW)
    later = document.build(run(), complete(), [], NOW + timedelta(days=1))
    assert document.input_digest(now) != document.input_digest(later)
    assert document.facts_digest(now) == document.facts_digest(later)
    changed = document.build(run(RunStatus.FAILED), complete(), [], NOW)
    assert document.facts_digest(changed) != document.facts_digest(now)
