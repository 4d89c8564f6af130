"""A Rekor entry's logged body against the bundle that carries it.

The body is what the log signed; the bundle is what the uploader sent. They must
describe the same thing: payload hash, signature and signing certificate (dsse
0.0.1, intoto 0.0.2, hashedrekord 0.0.1 and Rekor v2's 0.0.2). A mismatch means
the envelope or message was altered after it was logged, which is checkable
offline whatever key or certificate signed the bundle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from maestro.evidence import dsse, signing
from maestro.evidence.intoto_report import obj


def decode(text: Any) -> dict[str, Any] | None:
    raw = signing.b64decode(text)
    if raw is None:
        return None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def _b64_any(value: Any) -> bytes | None:
    """Rekor intoto entries double-encode signatures; accept once- or twice-encoded."""
    once = signing.b64decode(value)
    if once is None:
        return None
    try:
        return base64.b64decode(once, validate=True)
    except (binascii.Error, ValueError):
        return once


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _sig_matches(logged: Any, sig: bytes) -> bool:
    once = signing.b64decode(logged)
    return once == sig or _b64_any(logged) == sig


def _content_mismatch(
    body: dict[str, Any], envelope: dsse.Envelope | None, digest: bytes | None, sig: bytes
) -> str | None:
    kind, spec = body.get("kind"), body.get("spec")
    if not isinstance(spec, dict):
        return "log entry body has no spec"
    if kind in ("dsse", "intoto") and envelope is None:
        return f"log entry is a {kind} entry, but the bundle holds a message signature"
    if kind == "dsse" and envelope is not None:
        payload_hash = obj(spec.get("payloadHash")).get("value")
        if payload_hash != hashlib.sha256(envelope.payload).hexdigest():
            return "log entry payload hash does not match the envelope payload"
        logged = [s.get("signature") for s in _list(spec.get("signatures")) if isinstance(s, dict)]
        if not any(_sig_matches(s, sig) for s in logged):
            return "log entry signatures do not match the envelope signature"
    elif kind == "intoto" and envelope is not None:
        content = obj(spec.get("content"))
        payload_hash = content.get("payloadHash")
        if (
            isinstance(payload_hash, dict)
            and payload_hash.get("value") != hashlib.sha256(envelope.payload).hexdigest()
        ):
            return "log entry payload hash does not match the envelope payload"
        logged_env = obj(content.get("envelope"))
        logged = [s.get("sig") for s in _list(logged_env.get("signatures")) if isinstance(s, dict)]
        if not any(_sig_matches(s, sig) for s in logged):
            return "log entry signatures do not match the envelope signature"
    elif kind == "hashedrekord":
        return _hashedrekord_mismatch(spec, envelope, digest, sig)
    return None


def _hashedrekord_mismatch(
    spec: dict[str, Any], envelope: dsse.Envelope | None, digest: bytes | None, sig: bytes
) -> str | None:
    v2 = spec.get("hashedRekordV002")
    if isinstance(v2, dict):  # Rekor v2: digest of PAE (DSSE) or of the artifact
        data, signature = obj(v2.get("data")), obj(v2.get("signature"))
        logged_digest = signing.b64decode(data.get("digest"))
        logged_sig = signature.get("content")
    else:
        data = obj(spec.get("data"))
        hashed = obj(data.get("hash"))
        try:
            logged_digest = bytes.fromhex(hashed.get("value", ""))
        except (TypeError, ValueError):
            logged_digest = None
        signature = obj(spec.get("signature"))
        logged_sig = signature.get("content")
    expected = digest
    if envelope is not None:
        expected = hashlib.sha256(dsse.pae(envelope.payload_type, envelope.payload)).digest()
    if logged_digest != expected:
        return "log entry digest does not match the bundle's signed content"
    if not _sig_matches(logged_sig, sig):
        return "log entry signature does not match the bundle signature"
    return None


KINDS = ("dsse", "intoto", "hashedrekord")


def mismatch(
    body: dict[str, Any],
    envelope: dsse.Envelope | None,
    digest: bytes | None,
    sig: bytes,
    cert: x509.Certificate | None,
) -> str | None:
    """Why the logged body does not describe this bundle, or None when it does."""
    problem = _content_mismatch(body, envelope, digest, sig)
    if problem or cert is None:
        return problem
    logged = _logged_verifiers(body)
    if logged and not any(_same_key(value, cert) for value in logged):
        return "log entry was made with a different certificate than the bundle's"
    return None


def _logged_verifiers(body: dict[str, Any]) -> list[Any]:
    spec = obj(body.get("spec"))
    kind = body.get("kind")
    if kind == "dsse":
        return [s.get("verifier") for s in _list(spec.get("signatures")) if isinstance(s, dict)]
    if kind == "intoto":
        signatures = obj(obj(spec.get("content")).get("envelope")).get("signatures")
        return [s.get("publicKey") for s in _list(signatures) if isinstance(s, dict)]
    if kind == "hashedrekord" and "signature" in spec:
        return [obj(obj(spec["signature"]).get("publicKey")).get("content")]
    return []


def _same_key(value: Any, cert: x509.Certificate) -> bool:
    """A logged verifier (base64 of a PEM certificate or key, sometimes base64 twice) is the leaf's key."""
    raw = signing.b64decode(value)
    if raw is not None and not raw.lstrip().startswith(b"-----BEGIN"):
        raw = signing.b64decode(raw.decode("ascii", "replace"))
    if raw is None:
        return False
    logged = signing.load_certificate(raw)
    key = (
        signing.certificate_key(logged)
        if logged is not None
        else signing.load_public_key(raw.decode("ascii", "replace"))
    )
    leaf = signing.certificate_key(cert)
    return key is not None and leaf is not None and _spki(key) == _spki(leaf)


def _spki(key: signing.PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
