"""DSSE envelopes built and signed here with fresh keys: verified / unverified / invalid."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from maestro.evidence.attestation import parse_attestation
from maestro.evidence.dsse import pae
from maestro.evidence.model import Evidence, ParseOptions, TrustedKey

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
INTOTO = "application/vnd.in-toto+json"
SHA = "a" * 64


def slsa_v02() -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": SHA}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {
            "builder": {"id": "https://ci.example/builder@v1"},
            "buildType": "https://ci.example/build@v1",
            "invocation": {
                "configSource": {
                    "uri": "git+https://git.example/app",
                    "digest": {"sha1": "b" * 40},
                    "entryPoint": "ci.yml",
                },
                "parameters": {"ref": "main"},
            },
            "metadata": {
                "buildInvocationId": "run-7",
                "buildStartedOn": "2025-01-02T03:04:05Z",
                "buildFinishedOn": "2025-01-02T03:14:05.123456789Z",
            },
            "materials": [{"uri": "git+https://git.example/app", "digest": {"sha1": "b" * 40}}],
        },
    }


def slsa_v1() -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.whl", "digest": {"sha256": SHA, "sha512": "c" * 128}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://ci.example/workflow@v1",
                "externalParameters": {"workflow": {"ref": "refs/tags/v1", "path": ".ci/release.yml"}},
                "resolvedDependencies": [
                    {"uri": "git+https://git.example/app@refs/tags/v1", "digest": {"gitCommit": "d" * 40}}
                ],
            },
            "runDetails": {
                "builder": {"id": "https://ci.example/runner"},
                "metadata": {
                    "invocationId": "inv-1",
                    "startedOn": "2025-01-01T00:00:00Z",
                    "finishedOn": "2025-01-01T00:05:00Z",
                },
            },
        },
    }


def _pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _sign(key: PrivateKey, message: bytes, *, pss: bool = False) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32) if pss else padding.PKCS1v15()
    return key.sign(message, pad, hashes.SHA256())


def envelope(
    key: PrivateKey,
    payload: bytes,
    *,
    keyid: str | None = "k1",
    payload_type: str = INTOTO,
    encode: Callable[[bytes], bytes] = base64.b64encode,
    pss: bool = False,
) -> dict[str, Any]:
    sig = encode(_sign(key, pae(payload_type, payload), pss=pss)).decode()
    entry = {"sig": sig} if keyid is None else {"keyid": keyid, "sig": sig}
    return {"payloadType": payload_type, "payload": base64.b64encode(payload).decode(), "signatures": [entry]}


def parse(doc: Any, *keys: TrustedKey, strict: bool = False) -> Evidence:
    data = json.dumps(doc).encode()
    return parse_attestation(
        "dsse-envelope", data, doc, ParseOptions(trusted_keys=keys, strict=strict)
    ).evidence


def status(evidence: Evidence) -> str | None:
    return evidence.signature.status if evidence.signature else None


KEYS: dict[str, Callable[[], PrivateKey]] = {
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


@pytest.fixture(scope="module", params=sorted(KEYS))
def key(request: pytest.FixtureRequest) -> PrivateKey:
    return KEYS[request.param]()


@pytest.mark.parametrize("statement", [slsa_v02, slsa_v1])
def test_verified_with_the_trusted_key(key: PrivateKey, statement: Callable[[], dict[str, Any]]) -> None:
    payload = json.dumps(statement()).encode()
    evidence = parse(envelope(key, payload), TrustedKey("k1", "release key", _pem(key)))
    assert evidence.valid, evidence.errors
    assert evidence.signature is not None
    assert evidence.signature.status == "verified"
    assert evidence.signature.key_id == "k1"
    assert evidence.evidence_type == "slsa_provenance"
    assert evidence.format == "dsse-envelope"


def test_unverified_without_keys(key: PrivateKey) -> None:
    evidence = parse(envelope(key, json.dumps(slsa_v1()).encode()))
    assert evidence.valid
    assert status(evidence) == "unverified"


def test_unverified_when_keyid_names_no_trusted_key(key: PrivateKey) -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    evidence = parse(
        envelope(key, json.dumps(slsa_v1()).encode(), keyid="unknown"), TrustedKey("k1", "k", _pem(other))
    )
    assert evidence.valid
    assert status(evidence) == "unverified"


def test_tampered_payload_is_invalid(key: PrivateKey) -> None:
    doc = envelope(key, json.dumps(slsa_v1()).encode())
    tampered = slsa_v1()
    tampered["subject"][0]["digest"]["sha256"] = "e" * 64
    doc["payload"] = base64.b64encode(json.dumps(tampered).encode()).decode()
    evidence = parse(doc, TrustedKey("k1", "k", _pem(key)))
    assert not evidence.valid
    assert status(evidence) == "invalid"
    assert evidence.errors[0].location == "/signatures/0"


def test_wrong_key_is_invalid(key: PrivateKey) -> None:
    wrong = ec.generate_private_key(ec.SECP256R1())
    evidence = parse(envelope(key, json.dumps(slsa_v02()).encode()), TrustedKey("k1", "k", _pem(wrong)))
    assert not evidence.valid
    assert status(evidence) == "invalid"


def test_no_keyid_and_no_key_verifies_is_unverified(key: PrivateKey) -> None:
    """Without a keyid, a stranger's signature and a forgery look alike offline: neither
    is called forged, and neither is verified."""
    wrong = ed25519.Ed25519PrivateKey.generate()
    evidence = parse(
        envelope(key, json.dumps(slsa_v02()).encode(), keyid=None), TrustedKey("k1", "k", _pem(wrong))
    )
    assert evidence.valid
    assert status(evidence) == "unverified"
    assert evidence.signature is not None
    assert "no trusted key verifies" in (evidence.signature.detail or "")


def test_no_keyid_verifies_against_any_trusted_key(key: PrivateKey) -> None:
    keys = (
        TrustedKey("other", "o", _pem(ed25519.Ed25519PrivateKey.generate())),
        TrustedKey("mine", "m", _pem(key)),
    )
    evidence = parse(envelope(key, json.dumps(slsa_v02()).encode(), keyid=None), *keys)
    assert evidence.signature is not None
    assert (evidence.signature.status, evidence.signature.key_id) == ("verified", "mine")


@pytest.mark.parametrize(
    "encode",
    [
        base64.urlsafe_b64encode,
        lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
        lambda b: base64.b64encode(b).rstrip(b"="),
    ],
)
def test_url_safe_and_unpadded_signatures_are_accepted(
    key: PrivateKey, encode: Callable[[bytes], bytes]
) -> None:
    evidence = parse(
        envelope(key, json.dumps(slsa_v1()).encode(), encode=encode), TrustedKey("k1", "k", _pem(key))
    )
    assert status(evidence) == "verified"


def test_rsa_pss_is_accepted() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    evidence = parse(
        envelope(key, json.dumps(slsa_v1()).encode(), pss=True), TrustedKey("k1", "k", _pem(key))
    )
    assert status(evidence) == "verified"


def test_duplicate_key_payload_refused_despite_valid_signature(key: PrivateKey) -> None:
    body = json.dumps(slsa_v1())
    evil = body[:-1] + ', "subject": [{"name": "evil", "digest": {"sha256": "' + "f" * 64 + '"}}]}'
    evidence = parse(envelope(key, evil.encode()), TrustedKey("k1", "k", _pem(key)))
    assert status(evidence) == "verified"
    assert not evidence.valid
    assert evidence.errors[0].location == "/payload"
    assert "duplicate key 'subject'" in evidence.errors[0].message


def test_wrong_payload_type_is_reported(key: PrivateKey) -> None:
    doc = envelope(key, json.dumps(slsa_v1()).encode(), payload_type="application/json")
    evidence = parse(doc, TrustedKey("k1", "k", _pem(key)))
    assert not evidence.valid
    assert evidence.errors[0].location == "/payloadType"
    assert "application/vnd.in-toto+json" in evidence.errors[0].message


def test_ten_thousand_signatures_refused_fast() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    doc = envelope(key, json.dumps(slsa_v1()).encode())
    doc["signatures"] = doc["signatures"] * 10_000
    started = time.perf_counter()
    evidence = parse(doc, TrustedKey("k1", "k", _pem(key)))
    assert time.perf_counter() - started < 10  # bounded, not timed: a hang or blow-up would take far longer
    assert not evidence.valid
    assert "too many signatures" in evidence.errors[0].message


def test_summary_maps_both_slsa_versions(key: PrivateKey) -> None:
    v02 = parse(envelope(key, json.dumps(slsa_v02()).encode())).summary["provenance"]
    assert v02["builder_id"] == "https://ci.example/builder@v1"
    assert v02["config_source"] == {
        "uri": "git+https://git.example/app",
        "digest": {"sha1": "b" * 40},
        "entry_point": "ci.yml",
    }
    assert (v02["invocation_id"], v02["parameters"]) == ("run-7", {"ref": "main"})
    assert v02["finished_on"] == "2025-01-02T03:14:05.123456789Z"
    v1 = parse(envelope(key, json.dumps(slsa_v1()).encode())).summary
    assert v1["subjects"] == [{"name": "app.whl", "digest": {"sha256": SHA, "sha512": "c" * 128}}]
    prov = v1["provenance"]
    assert prov["external_parameters"]["workflow"]["path"] == ".ci/release.yml"
    assert prov["materials"] == [
        {"uri": "git+https://git.example/app@refs/tags/v1", "name": None, "digest": {"gitCommit": "d" * 40}}
    ]
    assert (prov["started_on"], prov["invocation_id"], prov["build_type"]) == (
        "2025-01-01T00:00:00Z",
        "inv-1",
        "https://ci.example/workflow@v1",
    )
