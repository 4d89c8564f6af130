"""Sigstore bundles v0.1-v0.3 checked offline.

What can be known without the network: the signature against the bundle's
leaf certificate, the certificate's validity at the log's integrated time,
and whether the log entry describes this envelope or message at all (the
conformance "mismatch" vectors). Chain and inclusion proof are checked by the
optional ``sigstore`` package when it is installed; details say which was done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from maestro.evidence import dsse, rekor_body, signing, trusted_keys
from maestro.evidence.intoto_report import Report, obj
from maestro.evidence.model import Signature, TrustedKey
from maestro.evidence.sigstore_bundle_trust import certificate_verdict

MEDIA_TYPES = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "0.3",
}
MAX_ENTRIES = 4


@dataclass(slots=True)
class BundleResult:
    version: str | None
    envelope: dsse.Envelope | None
    signature: Signature
    message_digest: str | None = None


def looks_like_bundle(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    media = doc.get("mediaType")
    if isinstance(media, str) and "sigstore.bundle" in media:
        return True
    return "verificationMaterial" in doc and ("dsseEnvelope" in doc or "messageSignature" in doc)


def parse_bundle(doc: Any, loc: str, options_keys: tuple[TrustedKey, ...], report: Report) -> BundleResult:
    """Check one bundle; problems go to ``report``, the verdict to ``signature``."""
    if not isinstance(doc, dict):
        report.error(loc or "/", "Sigstore bundle is not a JSON object")
        return BundleResult(None, None, Signature(status="invalid", detail="not a bundle"))
    media = doc.get("mediaType")
    version = MEDIA_TYPES.get(media) if isinstance(media, str) else None
    if version is None:
        report.error(f"{loc}/mediaType", f"unknown Sigstore bundle mediaType {doc.get('mediaType')!r}")
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        report.error(f"{loc}/verificationMaterial", "verificationMaterial is missing or not an object")
        material = {}
    envelope, digest, message_sig = _content(doc, loc, report)
    result = BundleResult(version, envelope, Signature(status="invalid", detail="bundle content unusable"))
    result.message_digest = digest.hex() if digest is not None else None
    if envelope is None and digest is None:
        return result
    entries = _entries(material, loc, report)
    keyed = "publicKey" in material
    cert = None if keyed else _leaf_certificate(material, f"{loc}/verificationMaterial", report)
    if not keyed and cert is None:
        return result
    if not _consistent(entries, loc, cert, envelope, digest, message_sig, report):
        result.signature = Signature(
            status="invalid", detail="transparency log entry does not match the bundle"
        )
    elif keyed:
        result.signature = _with_hint(material, envelope, digest, message_sig, loc, options_keys, report)
    elif version is None:
        result.signature = Signature(status="invalid", detail="unknown bundle mediaType")
    elif cert is not None:
        content = (envelope, digest, message_sig)
        result.signature = _with_certificate(doc, cert, entries, content, loc, report)
    return result


def _content(
    doc: dict[str, Any], loc: str, report: Report
) -> tuple[dsse.Envelope | None, bytes | None, bytes]:
    if "dsseEnvelope" in doc:
        envelope = dsse.parse_envelope(doc["dsseEnvelope"], f"{loc}/dsseEnvelope", report)
        if envelope is not None and len(envelope.signatures) != 1:
            report.error(
                f"{loc}/dsseEnvelope/signatures",
                "a Sigstore bundle's envelope must have exactly one signature",
            )
            return None, None, b""
        return envelope, None, b""
    message = doc.get("messageSignature")
    if not isinstance(message, dict):
        report.error(loc or "/", "bundle has neither dsseEnvelope nor messageSignature")
        return None, None, b""
    md = message.get("messageDigest")
    digest = signing.b64decode(md.get("digest")) if isinstance(md, dict) else None
    if not isinstance(md, dict) or md.get("algorithm") != "SHA2_256" or digest is None or len(digest) != 32:
        report.error(
            f"{loc}/messageSignature/messageDigest", "messageDigest must be a base64 SHA2_256 digest"
        )
        return None, None, b""
    sig = signing.b64decode(message.get("signature"))
    if not sig:
        report.error(f"{loc}/messageSignature/signature", "signature is missing or not valid base64")
        return None, None, b""
    return None, digest, sig


def _leaf_certificate(material: dict[str, Any], loc: str, report: Report) -> x509.Certificate | None:
    raw: Any = None
    where = f"{loc}/certificate/rawBytes"
    if isinstance(material.get("certificate"), dict):
        raw = material["certificate"].get("rawBytes")
    elif isinstance(material.get("x509CertificateChain"), dict):
        certs = material["x509CertificateChain"].get("certificates")
        where = f"{loc}/x509CertificateChain/certificates/0/rawBytes"
        raw = (
            certs[0].get("rawBytes")
            if isinstance(certs, list) and certs and isinstance(certs[0], dict)
            else None
        )
    else:
        report.error(loc, "no certificate, x509CertificateChain or publicKey in verificationMaterial")
        return None
    der = signing.b64decode(raw)
    cert = signing.load_certificate(der) if der else None
    if cert is None:
        report.error(where, "leaf certificate is missing or not a readable X.509 certificate")
    return cert


def _signature_ok(
    key: signing.PublicKey, envelope: dsse.Envelope | None, digest: bytes | None, sig: bytes
) -> bool:
    if envelope is not None:
        return dsse.verify_with_key(envelope, key)
    return digest is not None and signing.verify_prehashed(key, sig, digest)


def _entries(material: dict[str, Any], loc: str, report: Report) -> list[Any]:
    entries = material.get("tlogEntries")
    if not isinstance(entries, list) or not entries:
        report.warn(f"{loc}/verificationMaterial/tlogEntries", "no transparency log entry in the bundle")
        return []
    return entries[:MAX_ENTRIES]


def _consistent(
    entries: list[Any],
    loc: str,
    cert: x509.Certificate | None,
    envelope: dsse.Envelope | None,
    digest: bytes | None,
    sig: bytes,
    report: Report,
) -> bool:
    """Every log entry describes this envelope or message (checked for keyed bundles too)."""
    sig_bytes = envelope.signatures[0].sig if envelope else sig
    where = f"{loc}/verificationMaterial/tlogEntries"
    results = [
        _check_entry(e, f"{where}/{i}", cert, envelope, digest, sig_bytes, report)
        for i, e in enumerate(entries)
    ]
    return all(results)


def _with_hint(
    material: dict[str, Any],
    envelope: dsse.Envelope | None,
    digest: bytes | None,
    sig: bytes,
    loc: str,
    keys: tuple[TrustedKey, ...],
    report: Report,
) -> Signature:
    """A bundle signed with a named key (npm's registry key): verifiable only if the operator trusts it.
    The hint only orders the search (see ``trusted_keys``)."""
    hint = obj(material["publicKey"]).get("hint")
    hint = hint if isinstance(hint, str) else None
    loaded = trusted_keys.load(keys, report)
    match = trusted_keys.find(
        lambda k: _signature_ok(k, envelope, digest, sig), hint, loaded, trusted_keys.Budget()
    )
    if match.signer is not None:
        trusted = match.signer.trusted
        return Signature(
            status="verified",
            key_id=trusted.key_id,
            detail=f"signature valid against trusted key {trusted.name!r}",
        )
    if match.named is not None:
        report.error(
            f"{loc}/verificationMaterial/publicKey",
            "signature does not verify against the trusted key the hint names",
        )
        return Signature(
            status="invalid", key_id=match.named.trusted.key_id, detail="signature does not verify"
        )
    return Signature(
        status="unverified", detail=f"signed with public key {hint!r}; no trusted key verifies the signature"
    )


def _with_certificate(
    doc: dict[str, Any],
    cert: x509.Certificate,
    entries: list[Any],
    content: tuple[dsse.Envelope | None, bytes | None, bytes],
    loc: str,
    report: Report,
) -> Signature:
    envelope, digest, sig = content
    key = signing.certificate_key(cert)
    if key is None or not _signature_ok(key, envelope, digest, sig):
        where = f"{loc}/dsseEnvelope/signatures/0/sig" if envelope else f"{loc}/messageSignature/signature"
        report.error(where, "signature does not verify against the bundle certificate")
        return Signature(status="invalid", detail="signature does not verify against the bundle certificate")
    verdict = certificate_verdict(doc, cert, entries, digest)
    if verdict.status == "invalid":
        report.error(f"{loc}{verdict.where}", verdict.detail)
    return Signature(status=verdict.status, detail=verdict.detail)


def _check_entry(
    entry: Any,
    loc: str,
    cert: x509.Certificate | None,
    envelope: dsse.Envelope | None,
    digest: bytes | None,
    sig: bytes,
    report: Report,
) -> bool:
    """Certificate validity at integratedTime, and the logged body against this bundle's content."""
    if not isinstance(entry, dict):
        report.error(loc, "tlog entry is not an object")
        return False
    ok = True
    integrated = entry.get("integratedTime")
    if cert is not None and integrated not in (None, "", "0", 0):
        try:
            when = datetime.fromtimestamp(int(integrated), tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            report.error(f"{loc}/integratedTime", "integratedTime is not a Unix time")
            return False
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            report.error(
                f"{loc}/integratedTime",
                f"certificate was not valid at the log's integrated time {when.isoformat()} "
                f"(valid {cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()})",
            )
            ok = False
    body = rekor_body.decode(entry.get("canonicalizedBody"))
    if body is None:
        report.warn(
            f"{loc}/canonicalizedBody", "no readable canonicalizedBody; log entry consistency not checked"
        )
        return ok
    problem = rekor_body.mismatch(body, envelope, digest, sig, cert)
    if problem:
        report.error(f"{loc}/canonicalizedBody", problem)
        ok = False
    return ok
