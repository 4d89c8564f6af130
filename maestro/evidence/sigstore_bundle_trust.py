"""The verdict on a certificate-signed Sigstore bundle whose signature and log body already match.

``verified`` needs every step Maestro checks against the Sigstore trust root
(``sigstore_trust``): the leaf was issued by a trusted Fulcio CA, a trusted
Rekor log signed the entry's timestamp, and the leaf was valid at that time.
An entry without a signed timestamp (Rekor v2, inclusion proof only) is handed
to sigstore-python's verifier, offline, with the same root. A step that cannot
be done is ``unverified`` naming it; a step that the file claims and the math
refutes is ``invalid``. The certificate the file brought is never enough.
No identity policy is applied: who signed is for policy code to decide.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from cryptography import x509

from maestro.evidence import rekor_body, sigstore_trust
from maestro.evidence.sigstore_trust import Check

Status = Literal["verified", "unverified", "invalid"]
IDENTITY_NOTE = "signer identity not checked"


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    detail: str
    where: str = ""  # pointer below the bundle for an invalid verdict


class _AnyIdentity:
    """Accept every signer: identity is a policy decision made above the parser."""

    def verify(self, cert: Any) -> None:
        return None


def certificate_verdict(
    doc: dict[str, Any], cert: x509.Certificate, entries: list[Any], message_digest: bytes | None
) -> Verdict:
    """Never raises: a trust root that cannot be read makes everything unverified."""
    entry = entries[0] if entries and isinstance(entries[0], dict) else None
    if entry is None:
        return _unverified(["transparency log: no log entry, so no trusted signing time"])
    try:
        root = sigstore_trust.production_root()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _unverified([f"trust root: the Sigstore trust root could not be read ({type(exc).__name__})"])
    chain = sigstore_trust.check_chain(root, cert)
    logged, when = sigstore_trust.check_set(root, entry)
    checks = [chain, logged, _body_checked(entry)]
    if when is not None and not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        checks.append(Check("forged", "certificate validity: not valid at the log's integrated time"))
    forged = [c.step for c in checks if c.outcome == "forged"]
    if forged:
        where = (
            "/verificationMaterial" if chain.outcome == "forged" else "/verificationMaterial/tlogEntries/0"
        )
        return Verdict("invalid", "; ".join(forged), where)
    if (
        logged.outcome == "unknown"
        and chain.outcome == "ok"
        and sigstore_trust.entry_log_id(entry) in root.logs
    ):
        return _with_sigstore_python(doc, message_digest, chain)
    unknown = [c.step for c in checks if c.outcome == "unknown"]
    if unknown:
        return _unverified(unknown)
    return Verdict(
        "verified",
        f"{chain.step}; {logged.step}; certificate valid at the integrated time ({IDENTITY_NOTE})",
    )


def _body_checked(entry: dict[str, Any]) -> Check:
    body = rekor_body.decode(entry.get("canonicalizedBody"))
    kind = body.get("kind") if body is not None else None
    if kind not in rekor_body.KINDS:
        return Check("unknown", f"log body: a {kind or 'missing'} entry cannot be compared with the bundle")
    return Check("ok", f"log body ({kind}) matches the bundle")


def _unverified(steps: list[str]) -> Verdict:
    return Verdict(
        "unverified", "signature valid against the bundle certificate, but not verified: " + "; ".join(steps)
    )


@lru_cache(maxsize=1)
def _verifier() -> Any:
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier
    from sigstore_models.trustroot import v1 as trustroot_v1

    raw = (
        resources.files("sigstore._store")
        .joinpath(sigstore_trust.PRODUCTION_TUF, "trusted_root.json")
        .read_bytes()
    )
    return Verifier(trusted_root=TrustedRoot(trustroot_v1.TrustedRoot.from_json(raw)))


def _with_sigstore_python(doc: dict[str, Any], message_digest: bytes | None, chain: Check) -> Verdict:
    """Inclusion proof and checkpoint, by sigstore-python, offline, against the same root."""
    try:
        from sigstore.hashes import Hashed
        from sigstore.models import Bundle
        from sigstore_models.common.v1 import HashAlgorithm

        verifier = _verifier()
        loaded = Bundle.from_json(json.dumps(doc))
        if message_digest is None:
            verifier.verify_dsse(loaded, _AnyIdentity())
        else:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=message_digest)
            verifier.verify_artifact(hashed, loaded, _AnyIdentity())
    except Exception as exc:  # sigstore raises several error types; all mean "not verified"
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        return _unverified(
            [f"transparency log: no signed entry timestamp, and the inclusion proof: {reason}"]
        )
    return Verdict("verified", f"{chain.step}; inclusion proof verified by sigstore-python ({IDENTITY_NOTE})")
