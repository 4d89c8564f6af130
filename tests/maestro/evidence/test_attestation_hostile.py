"""Hostile and malformed attestations: always a located verdict, never an exception."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro.evidence.attestation import FORMATS, detect_attestation, parse_attestation
from maestro.evidence.model import Evidence, ParsedEvidence, ParseOptions
from tests.maestro.evidence.test_dsse_signing import slsa_v1


def parse(fmt: str, doc: Any, data: bytes | None = None) -> Evidence:
    raw = data if data is not None else json.dumps(doc).encode()
    return parse_attestation(fmt, raw, doc, ParseOptions()).evidence


def wrap(payload: bytes, payload_type: str = "application/vnd.in-toto+json") -> dict[str, Any]:
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"sig": "AAAA"}],
    }


def test_non_base64_payload() -> None:
    doc = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": "not base64!!",
        "signatures": [{"sig": "AAAA"}],
    }
    evidence = parse("dsse-envelope", doc)
    assert not evidence.valid
    assert evidence.errors[0].location == "/payload"


@pytest.mark.parametrize(
    ("field", "value", "location"),
    [
        ("sha256", "abc", "/payload/subject/0/digest/sha256"),
        ("sha256", "z" * 64, "/payload/subject/0/digest/sha256"),
        ("sha512", "a" * 64, "/payload/subject/0/digest/sha512"),
        ("sha1", 7, "/payload/subject/0/digest/sha1"),
    ],
)
def test_malformed_subject_digest_is_located(field: str, value: Any, location: str) -> None:
    statement = slsa_v1()
    statement["subject"][0]["digest"] = {field: value}
    evidence = parse("dsse-envelope", wrap(json.dumps(statement).encode()))
    assert not evidence.valid
    assert location in [e.location for e in evidence.errors]


@pytest.mark.parametrize("statement", [[], "text", 3, None, {"_type": "https://in-toto.io/Statement/v1"}])
def test_statement_not_an_object_or_incomplete(statement: Any) -> None:
    evidence = parse("dsse-envelope", wrap(json.dumps(statement).encode()))
    assert not evidence.valid
    assert evidence.errors


def test_empty_subject_list() -> None:
    statement = slsa_v1()
    statement["subject"] = []
    evidence = parse("in-toto-statement", statement)
    assert [e.location for e in evidence.errors] == ["/subject"]


def test_truncated_payload_json() -> None:
    evidence = parse("dsse-envelope", wrap(json.dumps(slsa_v1()).encode()[:-20]))
    assert not evidence.valid
    assert evidence.errors[0].location == "/payload"


def test_deep_payload_json_is_refused_fast() -> None:
    started = time.perf_counter()
    evidence = parse("dsse-envelope", wrap(b"[" * 100_000 + b"]" * 100_000))
    assert time.perf_counter() - started < 10  # bounded, not timed: a hang or blow-up would take far longer
    assert not evidence.valid


def test_huge_subject_list_is_capped_in_the_summary() -> None:
    statement = slsa_v1()
    statement["subject"] = [{"name": f"f{i}", "digest": {"sha256": "a" * 64}} for i in range(20_000)]
    started = time.perf_counter()
    evidence = parse("in-toto-statement", statement)
    assert time.perf_counter() - started < 10  # bounded, not timed: a hang or blow-up would take far longer
    assert evidence.valid
    assert evidence.summary["subject_count"] == 20_000
    assert len(evidence.summary["subjects"]) == 1000


def test_unknown_statement_type_and_format() -> None:
    assert detect_attestation({"_type": "https://in-toto.io/Statement/v9"}) == "in-toto-statement"
    assert not parse("in-toto-statement", {"_type": "https://in-toto.io/Statement/v9"}).valid
    assert not parse("no-such-format", {}).valid


def test_jsonl_lines_are_prefixed() -> None:
    bad = slsa_v1()
    bad["subject"][0]["digest"]["sha256"] = "xyz"
    evidence = parse("intoto-jsonl", [slsa_v1(), bad, {"hello": 1}])
    assert [e.location for e in evidence.errors] == ["line 2/subject/0/digest/sha256", "line 3"]
    assert len(evidence.summary["attestations"]) == 2


def test_embedded_sbom_goes_to_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    import maestro.evidence.registry as registry

    seen: list[tuple[Any, str]] = []

    def fake(doc: Any, options: ParseOptions, location_prefix: str = "") -> ParsedEvidence:
        seen.append((doc, location_prefix))
        return ParsedEvidence(
            Evidence(format="cyclonedx-json", evidence_type="sbom", valid=True, summary={"n": 1})
        )

    monkeypatch.setattr(registry, "parse_json_document", fake)
    statement = slsa_v1() | {
        "predicateType": "https://cyclonedx.org/bom",
        "predicate": {"bomFormat": "CycloneDX"},
    }
    evidence = parse("in-toto-statement", statement)
    assert seen == [({"bomFormat": "CycloneDX"}, "/predicate")]
    assert evidence.evidence_type == "sbom"
    assert evidence.summary["predicate_summary"] == {"n": 1}


def test_embedded_risk_assessment_uses_the_real_parser() -> None:
    statement = slsa_v1() | {
        "predicateType": "https://maestro.dev/risk-assessment/v1",
        "predicate": {"risks": "x"},
    }
    evidence = parse("in-toto-statement", statement)
    assert evidence.evidence_type == "risk_assessment"
    assert not evidence.valid
    assert all(e.location.startswith("/predicate") for e in evidence.errors)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
keys = st.sampled_from(
    [
        "_type",
        "subject",
        "predicate",
        "predicateType",
        "payload",
        "payloadType",
        "signatures",
        "sig",
        "keyid",
        "mediaType",
        "verificationMaterial",
        "dsseEnvelope",
        "attestations",
        "bundle",
        "envelope",
        "digest",
        "name",
    ]
)
shaped = st.recursive(
    json_values,
    lambda children: st.dictionaries(keys, children, max_size=6) | st.lists(children, max_size=3),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(FORMATS), doc=shaped)
def test_never_raises_on_arbitrary_documents(fmt: str, doc: Any) -> None:
    evidence = parse(fmt, doc, b"{}")
    assert isinstance(evidence.valid, bool)
    detect_attestation(doc)


@settings(max_examples=200, deadline=None)
@given(
    payload=st.binary(max_size=200) | st.builds(lambda d: json.dumps(d).encode(), shaped),
    payload_type=st.sampled_from(["application/vnd.in-toto+json", "text/plain", ""]),
    sig=st.text(max_size=40),
    wrap_as=st.sampled_from(["dsse-envelope", "sigstore-bundle"]),
)
def test_never_raises_on_mutated_envelopes(payload: bytes, payload_type: str, sig: str, wrap_as: str) -> None:
    env: dict[str, Any] = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"sig": sig}],
    }
    doc: dict[str, Any] = env
    if wrap_as == "sigstore-bundle":
        cert = {"rawBytes": base64.b64encode(payload[:50]).decode()}
        doc = {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": cert},
            "dsseEnvelope": env,
        }
    evidence = parse(wrap_as, doc)
    assert not evidence.valid or evidence.signature is not None
