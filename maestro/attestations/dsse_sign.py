"""Signing and opening DSSE envelopes with Ed25519 keys.

The signature covers PAE(payloadType, payload) (``maestro.evidence.dsse.pae``, checked
against DSSE's published test vectors), never the JSON around it. Opening tries every
given key on every signature (both lists are bounded): ``keyid`` is an unauthenticated
hint, so it decides nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from maestro.evidence.dsse import MAX_SIGNATURES, pae
from maestro.evidence.signing import b64decode

MAX_KEYS = 64


class EnvelopeError(ValueError):
    """An envelope is malformed, of another payload type, or not signed by any given key."""


def sign(
    payload_type: str, payload: bytes, key: Ed25519PrivateKey, keyid: str | None = None
) -> dict[str, Any]:
    """A DSSE envelope (JSON form) of ``payload`` with one signature by ``key``."""
    signature: dict[str, str] = {"sig": base64.b64encode(key.sign(pae(payload_type, payload))).decode()}
    if keyid:
        signature["keyid"] = keyid
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [signature],
    }


def open_envelope(doc: Any, payload_type: str, keys: Sequence[Ed25519PublicKey]) -> bytes:
    """The payload of ``doc`` if one of ``keys`` signed it as ``payload_type``."""
    if not isinstance(doc, dict):
        raise EnvelopeError("a DSSE envelope is a JSON object")
    kind, payload, signatures = doc.get("payloadType"), b64decode(doc.get("payload")), doc.get("signatures")
    if kind != payload_type:
        raise EnvelopeError(f"payloadType is {kind!r}, not {payload_type!r}")
    if payload is None:
        raise EnvelopeError("payload is missing or not base64")
    if not isinstance(signatures, list) or not 1 <= len(signatures) <= MAX_SIGNATURES:
        raise EnvelopeError(f"signatures must be a list of 1 to {MAX_SIGNATURES}")
    if not 1 <= len(keys) <= MAX_KEYS:
        raise EnvelopeError(f"give 1 to {MAX_KEYS} keys")
    message = pae(kind, payload)
    for raw in signatures:
        sig = b64decode(raw.get("sig")) if isinstance(raw, dict) else None
        if sig and any(_verifies(key, sig, message) for key in keys):
            return payload
    raise EnvelopeError("no signature verifies with the given key(s)")


def _verifies(key: Ed25519PublicKey, sig: bytes, message: bytes) -> bool:
    try:
        key.verify(sig, message)
    except InvalidSignature:
        return False
    return True
