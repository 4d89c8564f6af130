"""Which trusted key made a signature: the signer's hint first, then every other key.

A DSSE ``keyid`` (and a Sigstore bundle's ``publicKey.hint``) is an optional,
unauthenticated hint, so it only orders the search. Real signers write it as
the hex SHA-256 of the key's SubjectPublicKeyInfo (Maestro's ``key_id``), as
``SHA256:<base64>`` of the same digest (npm), or as an opaque name such as a
cloud KMS ``keystore://...`` URI (which matches a key registered under that
name, and otherwise is simply tried against every key). The search is bounded:
at most ``MAX_KEY_TRIALS`` signature checks per signed document, so a file with
many signatures against a long key list costs a bounded amount of CPU.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization

from maestro.evidence import signing
from maestro.evidence.intoto_report import Report
from maestro.evidence.model import TrustedKey

MAX_KEY_TRIALS = 512


@dataclass(frozen=True, slots=True)
class LoadedKey:
    trusted: TrustedKey
    key: signing.PublicKey
    fingerprint: bytes  # SHA-256 of the DER SubjectPublicKeyInfo


@dataclass(slots=True)
class Budget:
    left: int = field(default_factory=lambda: MAX_KEY_TRIALS)

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


@dataclass(frozen=True, slots=True)
class Match:
    signer: LoadedKey | None
    named: LoadedKey | None  # the trusted key the hint names, if any


def load(keys: tuple[TrustedKey, ...], report: Report) -> list[LoadedKey]:
    """The usable keys; an unreadable one is a warning, not a failure of the evidence."""
    loaded = []
    for trusted in keys:
        key = signing.load_public_key(trusted.pem)
        if key is None:
            report.warn("/", f"trusted key {trusted.key_id!r} is not a readable Ed25519/ECDSA/RSA PEM key")
            continue
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        loaded.append(LoadedKey(trusted, key, hashlib.sha256(der).digest()))
    return loaded


def names(hint: str | None, key: LoadedKey) -> bool:
    """Whether a signer's hint names this key, in any of the forms signers use."""
    if not hint:
        return False
    text = hint.strip()
    if text.lower() in (key.trusted.key_id.lower(), key.fingerprint.hex()) or text == key.trusted.name:
        return True
    if text[:7].upper() == "SHA256:":
        return signing.b64decode(text[7:]) == key.fingerprint
    return False


def find(
    checks: Callable[[signing.PublicKey], bool], hint: str | None, keys: list[LoadedKey], budget: Budget
) -> Match:
    """The first key that ``checks`` the signature, trying the hinted key first."""
    named = next((k for k in keys if names(hint, k)), None)
    order = [named, *(k for k in keys if k is not named)] if named else keys
    for candidate in order:
        if candidate is None or not budget.take():
            break
        if checks(candidate.key):
            return Match(candidate, named)
    return Match(None, named)
