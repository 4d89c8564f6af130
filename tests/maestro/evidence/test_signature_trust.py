"""Hostile signature vectors derived at test time from real corpus files: what is `verified` is earned.

Each vector starts from a real bundle or envelope and changes what an attacker
would change (re-signing, rewriting the log body, altering the payload, lying
in the key hint), so the checks run against real certificates, real Rekor
entries and real signed timestamps, never against fixtures written here.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi.testclient import TestClient

from maestro.evidence import dsse, trusted_keys
from maestro.evidence.model import Evidence, ParseOptions, TrustedKey
from maestro.evidence.registry import parse_evidence
from maestro.evidence.sigstore_trust import spki_sha256

HAPPY = "provenance/conformance-happy-path-intoto-in-dsse-v3.sigstore.json"  # dsse 0.0.1 log entry
NPM_JS = "provenance/sigstore-js-npm-publish-bundleV03.sigstore"  # intoto 0.0.2 log entry
SLSA_V01 = "provenance/slsa-gha-container-based-v1.7.0.intoto.sigstore"  # bundle v0.1, SET only
NPM = "provenance/npm-provenance-v1.attestations.json"  # attestation 0 is keyed (publicKey hint)
GUAC_DSSE = "provenance/guac-oci-dsse-att.json"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse(doc: Any, keys: tuple[TrustedKey, ...] = (), strict: bool = False) -> Evidence:
    return parse_evidence(json.dumps(doc).encode(), ParseOptions(strict=strict, trusted_keys=keys)).evidence


def load(corpus_dir: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((corpus_dir / name).read_bytes()))


def status(evidence: Evidence) -> str:
    assert evidence.signature is not None
    return evidence.signature.status


def trusted(private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, name: str = "k") -> TrustedKey:
    public = private.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return TrustedKey(key_id=spki_sha256(public).hex(), name=name, pem=pem.decode())


def self_signed(
    key: ec.EllipticCurvePrivateKey, around: datetime, aki_from: x509.Certificate | None
) -> x509.Certificate:
    """A code-signing certificate of the attacker's own, valid around the log's integrated time;
    optionally claiming the real Fulcio intermediate as its issuer by key identifier."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(aki_from.issuer if aki_from else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(around - timedelta(minutes=5))
        .not_valid_after(around + timedelta(minutes=5))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    )
    if aki_from is not None:
        builder = builder.add_extension(
            aki_from.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value, critical=False
        )
    return builder.sign(key, hashes.SHA256())


def _statement(bundle: dict[str, Any]) -> bytes:
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["subject"] = [{"name": "evil.tar.gz", "digest": {"sha256": "e" * 64}}]
    return json.dumps(statement).encode()


def resign(bundle: dict[str, Any], aki: bool = False, keep_verifier: bool = False) -> dict[str, Any]:
    """Replace the payload, sign it with a self-signed certificate, rewrite the log body to match
    (keeping the entry's real logId, integrated time and signed timestamp)."""
    forged = copy.deepcopy(bundle)
    material, envelope = forged["verificationMaterial"], forged["dsseEnvelope"]
    entry = material["tlogEntries"][0]
    real_cert = x509.load_der_x509_certificate(base64.b64decode(material["certificate"]["rawBytes"]))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = self_signed(
        key, datetime.fromtimestamp(int(entry["integratedTime"]), tz=UTC), real_cert if aki else None
    )
    payload = _statement(bundle)
    sig = key.sign(dsse.pae(envelope["payloadType"], payload), ec.ECDSA(hashes.SHA256()))
    envelope["payload"], envelope["signatures"] = b64(payload), [{"sig": b64(sig), "keyid": ""}]
    material["certificate"] = {"rawBytes": b64(cert.public_bytes(serialization.Encoding.DER))}
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    pem = (
        real_cert.public_bytes(serialization.Encoding.PEM)
        if keep_verifier
        else cert.public_bytes(serialization.Encoding.PEM)
    )
    if body["kind"] == "dsse":
        body["spec"]["payloadHash"]["value"] = hashlib.sha256(payload).hexdigest()
        body["spec"]["signatures"] = [{"signature": b64(sig), "verifier": b64(pem)}]
    else:
        content = body["spec"]["content"]
        content["payloadHash"]["value"] = hashlib.sha256(payload).hexdigest()
        content["envelope"]["signatures"] = [{"sig": b64(b64(sig).encode()), "publicKey": b64(pem)}]
    entry["canonicalizedBody"] = b64(json.dumps(body).encode())
    return forged


@pytest.mark.parametrize("name", [HAPPY, NPM_JS])
def test_real_bundles_verify_against_the_production_root(corpus_dir: Path, name: str) -> None:
    evidence = parse(load(corpus_dir, name))
    assert status(evidence) == "verified", evidence.signature
    assert "fulcio.sigstore.dev" in (evidence.signature.detail or "")  # type: ignore[union-attr]


def test_v01_bundle_with_only_a_signed_timestamp_verifies(corpus_dir: Path) -> None:
    doc = json.loads((corpus_dir / SLSA_V01).read_bytes())
    assert status(parse(doc)) == "verified"


@pytest.mark.parametrize("name", [HAPPY, NPM_JS])
def test_self_signed_resign_with_rewritten_log_body_is_invalid(corpus_dir: Path, name: str) -> None:
    evidence = parse(resign(load(corpus_dir, name)))
    assert status(evidence) == "invalid"
    assert not evidence.valid
    assert any("signed entry timestamp does not verify" in e.message for e in evidence.errors), (
        evidence.errors
    )
    assert any(e.location == "/verificationMaterial/tlogEntries/0" for e in evidence.errors)


def test_certificate_claiming_the_fulcio_issuer_is_invalid(corpus_dir: Path) -> None:
    evidence = parse(resign(load(corpus_dir, HAPPY), aki=True))
    assert status(evidence) == "invalid"
    assert "names a Fulcio CA of the trust root but is not signed by it" in (evidence.signature.detail or "")  # type: ignore[union-attr]


def test_self_signed_resign_without_log_proofs_is_unverified_naming_the_steps(corpus_dir: Path) -> None:
    forged = resign(load(corpus_dir, HAPPY))
    entry = forged["verificationMaterial"]["tlogEntries"][0]
    del entry["inclusionPromise"], entry["inclusionProof"]
    evidence = parse(forged)
    assert status(evidence) == "unverified"
    detail = evidence.signature.detail or ""  # type: ignore[union-attr]
    assert "certificate chain: the issuer is not a Fulcio CA" in detail
    assert "no signed entry timestamp" in detail


def test_self_signed_resign_is_refused_by_strict_upload(
    corpus_dir: Path, client: TestClient, make_run: Any, make_artifact: Any
) -> None:
    artifact = make_artifact(make_run()["id"], kind="slsa_provenance")
    url = f"/maestro/artifacts/{artifact['id']}/content"
    forged = json.dumps(resign(load(corpus_dir, HAPPY))).encode()
    response = client.put(url, content=forged, params={"strict": "true"})
    assert response.status_code == 422, response.text
    assert client.get(url).status_code == 404  # nothing was kept
    genuine = (corpus_dir / HAPPY).read_bytes()
    accepted = client.put(url, content=genuine, params={"strict": "true"})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["evidence"]["signature"]["status"] == "verified"


def test_payload_altered_after_signing_is_invalid_offline(corpus_dir: Path) -> None:
    bundle = load(corpus_dir, NPM_JS)
    bundle["dsseEnvelope"]["payload"] = b64(_statement(bundle))
    evidence = parse(bundle)
    assert status(evidence) == "invalid"
    assert not evidence.valid


def _keyed(corpus_dir: Path) -> dict[str, Any]:
    return dict(load(corpus_dir, NPM)["attestations"][0]["bundle"])


def test_keyed_bundle_with_altered_payload_is_invalid_without_any_trusted_key(corpus_dir: Path) -> None:
    bundle = _keyed(corpus_dir)
    assert status(parse(bundle)) == "unverified"  # npm's registry key is not trusted here
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["subject"][0]["name"] = "pkg:npm/evil@6.6.6"
    bundle["dsseEnvelope"]["payload"] = b64(json.dumps(statement).encode())
    evidence = parse(bundle)
    assert status(evidence) == "invalid"
    assert any("payload hash does not match" in e.message for e in evidence.errors)


def _rekey(
    bundle: dict[str, Any], key: ec.EllipticCurvePrivateKey, hint: str, p1363: bool = False
) -> dict[str, Any]:
    """The keyed bundle re-signed by ``key``, with its log body updated (a private Rekor, say)."""
    envelope = bundle["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    sig = key.sign(dsse.pae(envelope["payloadType"], payload), ec.ECDSA(hashes.SHA256()))
    if p1363:
        r, s = decode_dss_signature(sig)
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    envelope["signatures"] = [{"sig": b64(sig), "keyid": ""}]
    bundle["verificationMaterial"]["publicKey"] = {"hint": hint}
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    body["spec"]["content"]["envelope"]["signatures"] = [{"sig": b64(b64(sig).encode())}]
    entry["canonicalizedBody"] = b64(json.dumps(body).encode())
    return bundle


def test_npm_style_fingerprint_hint_names_a_trusted_key(corpus_dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    hint = "SHA256:" + base64.b64encode(spki_sha256(key.public_key())).decode().rstrip("=")
    evidence = parse(
        _rekey(_keyed(corpus_dir), key, hint),
        keys=(trusted(ec.generate_private_key(ec.SECP256R1()), "other"), trusted(key)),
    )
    assert (status(evidence), evidence.signature.key_id) == ("verified", trusted(key).key_id)  # type: ignore[union-attr]


def test_keyed_hint_naming_no_trusted_key_still_verifies_by_trying_keys(corpus_dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bundle = _rekey(
        _keyed(corpus_dir), key, "keystore://projects/p/locations/global/keyRings/r/cryptoKeys/k", p1363=True
    )
    assert status(parse(bundle, keys=(trusted(key),))) == "verified"


def _guac_envelope(corpus_dir: Path, key: Any, keyid: str, p1363: bool = False) -> dict[str, Any]:
    envelope = load(corpus_dir, GUAC_DSSE)
    message = dsse.pae(envelope["payloadType"], base64.b64decode(envelope["payload"]))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        sig = key.sign(message)
    else:
        sig = key.sign(message, ec.ECDSA(hashes.SHA256()))
        if p1363:
            r, s = decode_dss_signature(sig)
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    envelope["signatures"] = [{"keyid": keyid, "sig": b64(sig)}]
    return envelope


@pytest.mark.parametrize("keyid", ["", "keystore://kms/key-1", "SHA256:not-this-one", "0" * 64])
def test_keyid_naming_no_trusted_key_verifies_when_a_trusted_key_signed(corpus_dir: Path, keyid: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    keys = (trusted(ed25519.Ed25519PrivateKey.generate(), "a"), trusted(key, "b"))
    evidence = parse(_guac_envelope(corpus_dir, key, keyid), keys=keys)
    assert (status(evidence), evidence.signature.key_id) == ("verified", keys[1].key_id)  # type: ignore[union-attr]


def test_p1363_ecdsa_signature_verifies(corpus_dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    envelope = _guac_envelope(corpus_dir, key, trusted(key).key_id, p1363=True)
    assert len(base64.b64decode(envelope["signatures"][0]["sig"])) == 64
    assert status(parse(envelope, keys=(trusted(key),))) == "verified"


def test_opaque_hint_matches_a_key_registered_under_that_name(corpus_dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    keys = (trusted(key, "keystore://kms/key-1"),)
    assert status(parse(_guac_envelope(corpus_dir, other, "keystore://kms/key-1"), keys=keys)) == "invalid"


def test_swapped_keys_are_not_verified(corpus_dir: Path) -> None:
    signer, registered = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    keys = (trusted(registered),)
    # the hint names the registered key, which does not verify: a claim the key refutes
    named = parse(_guac_envelope(corpus_dir, signer, keys[0].key_id), keys=keys)
    assert status(named) == "invalid"
    assert not named.valid
    # the hint names the real signer, which is not trusted: a stranger's signature
    stranger = parse(_guac_envelope(corpus_dir, signer, trusted(signer).key_id), keys=keys)
    assert status(stranger) == "unverified"
    assert stranger.valid


def test_key_trials_are_bounded(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trusted_keys, "MAX_KEY_TRIALS", 2)
    key = ec.generate_private_key(ec.SECP256R1())
    others = [trusted(ec.generate_private_key(ec.SECP256R1()), f"k{i}") for i in range(3)]
    keys = (*others, trusted(key))
    evidence = parse(_guac_envelope(corpus_dir, key, "opaque"), keys=keys)
    assert status(evidence) == "unverified"
    assert "within 2 checks" in (evidence.signature.detail or "")  # type: ignore[union-attr]
    assert status(parse(_guac_envelope(corpus_dir, key, trusted(key).key_id), keys=keys)) == "verified"


def test_log_body_naming_another_certificate_is_invalid(corpus_dir: Path) -> None:
    evidence = parse(resign(load(corpus_dir, HAPPY), keep_verifier=True))
    assert status(evidence) == "invalid"
    assert any("different certificate" in e.message for e in evidence.errors), evidence.errors


def test_entry_without_signed_timestamp_is_unverified_not_verified(corpus_dir: Path) -> None:
    """A known log, a Fulcio certificate, but no SET: only an inclusion proof and no trusted time."""
    bundle = load(corpus_dir, HAPPY)
    del bundle["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
    evidence = parse(bundle)
    assert (evidence.valid, status(evidence)) == (True, "unverified")
    assert "no signed entry timestamp" in (evidence.signature.detail or "")  # type: ignore[union-attr]


def test_message_signature_bundle_against_a_dsse_log_entry_is_invalid(corpus_dir: Path) -> None:
    message = load(corpus_dir, "provenance/sigstore-python-github-whl-msgsig.sigstore")
    other = load(corpus_dir, HAPPY)["verificationMaterial"]["tlogEntries"][0]
    message["verificationMaterial"]["tlogEntries"] = [other]
    evidence = parse(message)
    assert status(evidence) == "invalid"
    assert any("bundle holds a message signature" in e.message for e in evidence.errors)


def test_registered_key_verifies_an_opaque_kms_keyid_through_the_api(
    corpus_dir: Path, client: TestClient, make_run: Any, make_artifact: Any
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = trusted(key).pem
    created = client.post("/maestro/trusted-keys", json={"name": "release-kms", "pem": pem})
    assert created.status_code == 201, created.text
    envelope = _guac_envelope(corpus_dir, key, "awskms:///arn:aws:kms:eu-west-1:1:key/abc", p1363=True)
    artifact = make_artifact(make_run()["id"], kind="slsa_provenance")
    response = client.put(
        f"/maestro/artifacts/{artifact['id']}/content", content=json.dumps(envelope).encode()
    )
    assert response.status_code == 201, response.text
    signature = response.json()["evidence"]["signature"]
    assert (signature["status"], signature["key_id"]) == ("verified", created.json()["key_id"])
