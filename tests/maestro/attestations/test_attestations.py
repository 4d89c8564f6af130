"""The attestation primitives against DSSE's published test vectors and each other:
PAE bytes, deterministic Ed25519 signatures, and statements/VSAs that round-trip."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from maestro.attestations import dsse_sign, statement, vsa
from maestro.evidence.dsse import pae
from maestro.evidence.signing import b64decode

# DSSE's published vectors (secure-systems-lab/dsse testvectors, restated as JSON) are
# third-party data, so they are not in the repository: a file named by this variable.
VECTORS_ENV = "MAESTRO_DSSE_VECTORS"
_VECTORS_FILE = Path(os.environ.get(VECTORS_ENV, "/nonexistent"))
# Key A of those vectors is RFC 8032's first Ed25519 test key.
_RFC8032_KEY_1 = {
    "seed": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "public": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
}
VECTORS: dict[str, Any] = (
    json.loads(_VECTORS_FILE.read_text())
    if _VECTORS_FILE.is_file()
    else {"keys": {"A": _RFC8032_KEY_1}, "vectors": []}  # the vector tests skip: empty parameter set
)
KEY_A = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS["keys"]["A"]["seed"]))


def test_key_a_is_the_rfc_8032_key() -> None:
    assert KEY_A.public_key().public_bytes_raw().hex() == VECTORS["keys"]["A"]["public"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["id"])
def test_pae_matches_the_vector(vector: dict[str, Any]) -> None:
    envelope = vector["envelope"]
    signed_type = vector["supported"] if vector["id"] != "payload-type-swapped" else statement.PAYLOAD_TYPE
    payload = b64decode(envelope["payload"])
    assert payload is not None
    kind = envelope["payloadType"] if vector["id"] != "payload-type-swapped" else signed_type
    assert pae(kind, payload).hex() == vector["pae"]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["id"])
def test_opening_accepts_or_rejects_as_the_vector_says(vector: dict[str, Any]) -> None:
    envelope = vector["envelope"]
    if vector["expect"] == "accept":
        assert dsse_sign.open_envelope(envelope, vector["supported"], [KEY_A.public_key()]) == b64decode(
            envelope["payload"]
        )
    else:
        with pytest.raises(dsse_sign.EnvelopeError):
            dsse_sign.open_envelope(envelope, vector["supported"], [KEY_A.public_key()])


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS["vectors"] if v["expect"] == "accept"], ids=lambda v: v["id"]
)
def test_signing_reproduces_the_vectors_signature(vector: dict[str, Any]) -> None:
    envelope = vector["envelope"]
    payload = b64decode(envelope["payload"])
    assert payload is not None
    ours = dsse_sign.sign(envelope["payloadType"], payload, KEY_A, "A")
    assert b64decode(ours["signatures"][0]["sig"]) == b64decode(envelope["signatures"][0]["sig"])


def test_a_signature_by_another_key_or_over_other_bytes_is_refused() -> None:
    signed = dsse_sign.sign(statement.PAYLOAD_TYPE, b"{}", KEY_A)
    with pytest.raises(dsse_sign.EnvelopeError, match="no signature verifies"):
        dsse_sign.open_envelope(signed, statement.PAYLOAD_TYPE, [Ed25519PrivateKey.generate().public_key()])
    altered = {**signed, "payload": "e30K"}  # "{}\n"
    with pytest.raises(dsse_sign.EnvelopeError, match="no signature verifies"):
        dsse_sign.open_envelope(altered, statement.PAYLOAD_TYPE, [KEY_A.public_key()])
    with pytest.raises(dsse_sign.EnvelopeError, match="signatures must be"):
        dsse_sign.open_envelope({**signed, "signatures": []}, statement.PAYLOAD_TYPE, [KEY_A.public_key()])


def test_a_vsa_round_trips_through_dsse() -> None:
    summary = vsa.Summary(
        verifier_id="https://maestro.example/maestro",
        time_verified="2026-01-02T03:04:05.000Z",
        resource_uri="https://maestro.example/maestro/runs/r1",
        policy_uri="https://maestro.dev/policies/seed-default",
        passed=False,
        verified_levels=("MAESTRO_RELEASE_GATE_PASSED",),
    )
    subject = statement.Subject("release-gate/r1", {"sha256": "ab" * 32})
    envelope = dsse_sign.sign(statement.PAYLOAD_TYPE, vsa.build([subject], summary).encode(), KEY_A)
    opened = statement.decode(
        dsse_sign.open_envelope(envelope, statement.PAYLOAD_TYPE, [KEY_A.public_key()]), vsa.PREDICATE_TYPE
    )
    reading = vsa.read(opened)
    assert (reading.passed, reading.resource_uri, reading.subjects) == (
        False,
        summary.resource_uri,
        (subject,),
    )
    assert opened.predicate["verifiedLevels"] == ["FAILED"]
    assert json.loads(opened.encode())["_type"] == "https://in-toto.io/Statement/v1"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"_type": "x"}', "not an in-toto Statement"),
        (
            b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": "p", "subject": []}',
            "subject must be",
        ),
        (
            b'{"_type": "https://in-toto.io/Statement/v1", "predicateType": "p", "subject": [{"name": "a"}]}',
            "needs a digest",
        ),
    ],
)
def test_malformed_statements_say_what_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(statement.StatementError, match=message):
        statement.decode(payload)


def test_a_statement_needs_a_subject() -> None:
    with pytest.raises(statement.StatementError, match="at least one subject"):
        statement.statement([], "p", {})
