"""DSSE envelopes: structure, PAE, and signature checks against the operator's trusted keys.

The signature covers PAE(payloadType, payload), never the JSON around it, so
everything here works on the decoded payload bytes. Signatures are capped:
an envelope with thousands of them is an attack on our CPU, not evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from maestro.evidence import signing, trusted_keys
from maestro.evidence.intoto_report import Report
from maestro.evidence.model import Signature, TrustedKey

MAX_SIGNATURES = 16
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
EMBEDDED_CERT_DETAIL = (
    "signature valid against the certificate embedded in the envelope; with no transparency-log "
    "entry the signing time, certificate chain and log inclusion cannot be checked offline"
)


@dataclass(frozen=True, slots=True)
class EnvelopeSignature:
    keyid: str | None
    sig: bytes
    cert: str | None  # slsa-github-generator v1 embeds a PEM certificate here


@dataclass(frozen=True, slots=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding, DSSE v1: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def looks_like_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and "payload" in doc and "payloadType" in doc and "signatures" in doc


def parse_envelope(doc: Any, loc: str, report: Report) -> Envelope | None:
    """The envelope, or None (with errors) when it cannot be used at all."""
    if not isinstance(doc, dict):
        report.error(loc or "/", "DSSE envelope is not a JSON object")
        return None
    payload_type, payload_text, sigs = doc.get("payloadType"), doc.get("payload"), doc.get("signatures")
    ok = True
    if not isinstance(payload_type, str):
        report.error(f"{loc}/payloadType", "payloadType is missing or not a string")
        ok = False
    payload = signing.b64decode(payload_text)
    if payload is None:
        report.error(f"{loc}/payload", "payload is missing or not valid base64")
        ok = False
    if not isinstance(sigs, list) or not sigs:
        report.error(f"{loc}/signatures", "signatures must be a non-empty list")
        return None
    if len(sigs) > MAX_SIGNATURES:
        report.error(f"{loc}/signatures", f"too many signatures ({len(sigs)}; at most {MAX_SIGNATURES})")
        return None
    parsed = tuple(s for i, raw in enumerate(sigs) if (s := _signature(raw, f"{loc}/signatures/{i}", report)))
    if not ok or not parsed or payload is None or not isinstance(payload_type, str):
        return None
    return Envelope(payload_type, payload, parsed)


def _signature(raw: Any, loc: str, report: Report) -> EnvelopeSignature | None:
    if not isinstance(raw, dict):
        report.error(loc, "signature is not a JSON object")
        return None
    sig = signing.b64decode(raw.get("sig"))
    if not sig:
        report.error(f"{loc}/sig", "sig is missing, empty or not valid base64")
        return None
    keyid, cert = raw.get("keyid"), raw.get("cert")
    return EnvelopeSignature(
        keyid=keyid if isinstance(keyid, str) and keyid else None,
        sig=sig,
        cert=cert if isinstance(cert, str) and cert else None,
    )


def verify_with_key(envelope: Envelope, key: signing.PublicKey) -> bool:
    message = pae(envelope.payload_type, envelope.payload)
    return any(signing.verify(key, s.sig, message) for s in envelope.signatures)


def verify_trusted(envelope: Envelope, keys: tuple[TrustedKey, ...], loc: str, report: Report) -> Signature:
    """verified if a trusted key verifies any signature. ``keyid`` is an unauthenticated hint:
    it picks the key tried first, then every other trusted key is tried (bounded, see
    ``trusted_keys``). invalid when no trusted key verifies a signature whose keyid names a
    trusted key (it claims a signer whose key says no: altered or forged). A signature naming
    no trusted key that none verifies is only unverified: it may be another party's, or
    altered - offline the two cannot be told apart, and calling a stranger's signature
    forged would be a lie."""
    message = pae(envelope.payload_type, envelope.payload)
    loaded = trusted_keys.load(keys, report)
    budget = trusted_keys.Budget()
    failed: list[str] = []
    for i, sig in enumerate(envelope.signatures):
        match = trusted_keys.find(partial(_checks, sig.sig, message), sig.keyid, loaded, budget)
        if match.signer is not None:
            return Signature(
                status="verified",
                key_id=match.signer.trusted.key_id,
                detail=f"DSSE signature {i} verified with trusted key {match.signer.trusted.name!r}",
            )
        if match.named is not None:
            failed.append(f"{loc}/signatures/{i}")
    if failed:
        for where in failed:
            report.error(where, "signature does not verify against the trusted key its keyid names")
        return Signature(status="invalid", detail="signature does not verify against the trusted keys")
    embedded = _verify_embedded_certs(envelope, message, loc, report)
    if embedded is not None:
        return embedded
    return Signature(status="unverified", detail=_why_unverified(loaded, budget))


def _checks(sig: bytes, message: bytes, key: signing.PublicKey) -> bool:
    return signing.verify(key, sig, message)


def _why_unverified(loaded: list[trusted_keys.LoadedKey], budget: trusted_keys.Budget) -> str:
    if not loaded:
        return "no trusted keys configured"
    if budget.left < 0:
        return f"no trusted key verifies this signature within {trusted_keys.MAX_KEY_TRIALS} checks"
    return "no trusted key verifies this signature (signed by another key, or altered after signing)"


def _verify_embedded_certs(envelope: Envelope, message: bytes, loc: str, report: Report) -> Signature | None:
    """slsa-github-generator v1 envelopes carry their Fulcio certificate inline; check the math only."""
    for i, sig in enumerate(envelope.signatures):
        if sig.cert is None:
            continue
        cert = signing.load_certificate(sig.cert.encode())
        key = signing.certificate_key(cert) if cert is not None else None
        if key is None:
            report.error(
                f"{loc}/signatures/{i}/cert", "embedded certificate is not a readable X.509 PEM certificate"
            )
            return Signature(status="invalid", detail="unreadable embedded certificate")
        if not signing.verify(key, sig.sig, message):
            report.error(
                f"{loc}/signatures/{i}/sig", "signature does not verify against the embedded certificate"
            )
            return Signature(
                status="invalid", detail="signature does not verify against the embedded certificate"
            )
        return Signature(status="unverified", detail=EMBEDDED_CERT_DETAIL)
    return None
