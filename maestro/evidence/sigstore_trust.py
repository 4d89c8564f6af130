"""The Sigstore production trust root, and the offline checks Maestro makes against it.

The root is the ``trusted_root.json`` that ships inside sigstore-python, read as
data (no TUF refresh, no network, no cache written). Against it Maestro checks
what makes a Fulcio signature trustworthy: the leaf certificate was issued by a
Fulcio CA of the root, and a Rekor log of the root signed the entry (its signed
entry timestamp, "SET"), which is what makes the entry's integrated time a time
to judge the certificate by. Each check answers ``ok``, ``unknown`` (the step
could not be done: unverified) or ``forged`` (the file names something the root
holds and the math says no: invalid).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from maestro.evidence import signing

PRODUCTION_TUF = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
NOT_TRUSTED = "of the Sigstore production trust root (staging and private instances are not trusted)"
Outcome = Literal["ok", "unknown", "forged"]


@dataclass(frozen=True, slots=True)
class Check:
    outcome: Outcome
    step: str


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    uri: str
    chain: tuple[x509.Certificate, ...]  # issuing certificate first, root last
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class Log:
    url: str
    key: signing.PublicKey
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class TrustRoot:
    authorities: tuple[CertificateAuthority, ...]
    logs: dict[bytes, Log]  # by log id: SHA-256 of the log key's SubjectPublicKeyInfo


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _window(item: dict[str, Any]) -> tuple[datetime, datetime | None]:
    valid = item.get("validFor") or {}
    return _time(valid.get("start")) or datetime.min.replace(tzinfo=UTC), _time(valid.get("end"))


def load_root(raw: bytes) -> TrustRoot:
    """A trusted_root.json (Sigstore trust root v0.1) as keys and certificates."""
    doc = json.loads(raw)
    authorities = []
    for ca in doc.get("certificateAuthorities", []):
        certs = ca.get("certChain", {}).get("certificates", [])
        chain = tuple(x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"])) for c in certs)
        authorities.append(CertificateAuthority(ca.get("uri", ""), chain, *_window(ca)))
    logs = {}
    for tlog in doc.get("tlogs", []):
        key = signing.load_der_public_key(base64.b64decode(tlog["publicKey"]["rawBytes"]))
        if key is not None:
            start, end = _window(tlog["publicKey"])
            logs[base64.b64decode(tlog["logId"]["keyId"])] = Log(tlog.get("baseUrl", ""), key, start, end)
    return TrustRoot(tuple(authorities), logs)


@lru_cache(maxsize=1)
def production_root() -> TrustRoot:
    raw = resources.files("sigstore._store").joinpath(PRODUCTION_TUF, "trusted_root.json").read_bytes()
    return load_root(raw)


def _within(when: datetime, start: datetime, end: datetime | None) -> bool:
    return start <= when and (end is None or when <= end)


def _key_identifier(cert: x509.Certificate, ext: type[Any]) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_class(ext).value
    except (x509.ExtensionNotFound, ValueError):  # a hostile certificate may not parse
        return None
    return value.key_identifier if isinstance(value.key_identifier, bytes) else value.digest


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _names_authority(leaf: x509.Certificate, ca: CertificateAuthority) -> bool:
    """The leaf claims this CA as issuer: by key identifier when it has one, else by name."""
    aki = _key_identifier(leaf, x509.AuthorityKeyIdentifier)
    if aki is not None:
        return aki == _key_identifier(ca.chain[0], x509.SubjectKeyIdentifier)
    return leaf.issuer == ca.chain[0].subject


def check_chain(root: TrustRoot, leaf: x509.Certificate) -> Check:
    """The leaf was issued, for code signing, by a Fulcio CA of the root, inside the CA's validity."""
    try:
        named = [ca for ca in root.authorities if ca.chain and _names_authority(leaf, ca)]
    except ValueError:  # an issuer name that does not parse names no CA
        return Check("unknown", "certificate chain: the certificate's issuer cannot be read")
    if not named:
        return Check(
            "unknown",
            f"certificate chain: the issuer is not a Fulcio CA {NOT_TRUSTED}",
        )
    for ca in named:
        links = zip((leaf, *ca.chain), ca.chain, strict=False)
        if not all(_issued_by(cert, issuer) for cert, issuer in links):
            continue
        if not _within(leaf.not_valid_before_utc, ca.start, ca.end):
            return Check("forged", f"certificate chain: issued outside the validity of {ca.uri}")
        if not _code_signing(leaf):
            return Check("forged", "certificate chain: the certificate is not for code signing")
        return Check("ok", f"certificate issued by {ca.uri}")
    return Check("forged", "certificate chain: names a Fulcio CA of the trust root but is not signed by it")


def _code_signing(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ExtendedKeyUsageOID.CODE_SIGNING in usage


def entry_log_id(entry: dict[str, Any]) -> bytes | None:
    log_id = entry.get("logId")
    return signing.b64decode(log_id.get("keyId")) if isinstance(log_id, dict) else None


def check_set(root: TrustRoot, entry: dict[str, Any]) -> tuple[Check, datetime | None]:
    """The log's signature over (body, integratedTime, logID, logIndex): what dates the entry."""
    log_id = entry_log_id(entry)
    log = root.logs.get(log_id) if log_id else None
    if log is None or log_id is None:
        return Check(
            "unknown",
            f"transparency log: the entry's log is not a Rekor log {NOT_TRUSTED}",
        ), None
    promise = entry.get("inclusionPromise")
    set_sig = signing.b64decode(promise.get("signedEntryTimestamp")) if isinstance(promise, dict) else None
    try:
        integrated, index = int(entry["integratedTime"]), int(entry["logIndex"])
        when = datetime.fromtimestamp(integrated, tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return Check("forged", "transparency log: integratedTime or logIndex is not an integer"), None
    if not set_sig:
        return Check("unknown", "transparency log: no signed entry timestamp (inclusion promise)"), None
    signed = json.dumps(
        {
            "body": entry.get("canonicalizedBody"),
            "integratedTime": integrated,
            "logID": log_id.hex(),
            "logIndex": index,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    if not signing.verify(log.key, set_sig, signed):
        return Check(
            "forged", f"transparency log: the signed entry timestamp does not verify with {log.url}"
        ), None
    if not _within(when, log.start, log.end):
        return Check("forged", f"transparency log: integrated time outside the validity of {log.url}"), None
    return Check("ok", f"entry {index} signed by {log.url}"), when


def spki(key: signing.PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def spki_sha256(key: signing.PublicKey) -> bytes:
    return hashlib.sha256(spki(key)).digest()
