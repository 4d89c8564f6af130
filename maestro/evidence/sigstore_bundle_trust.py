"""Optional full Sigstore verification with the ``sigstore`` package and its bundled trust root.

Offline only: the production trusted root shipped inside the package is read
directly (no TUF refresh, no cache written), so this checks the Fulcio chain,
embedded SCTs and the log entry's inclusion proof and checkpoint without any
network. No identity policy is applied: who signed is for policy code to decide.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

PRODUCTION_TUF = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
# sigstore-python cannot check these log entry kinds offline; the math is still ours to check
_UNSUPPORTED = (
    "Unsupported DSSE log entry type",
    "only supported for dsse/hashedrekord",
    "failed to load bundle",
)

Outcome = Literal["verified", "unsupported", "failed", "unavailable"]


@dataclass(frozen=True, slots=True)
class TrustResult:
    outcome: Outcome
    reason: str = ""


class _AnyIdentity:
    """Accept every signer: identity is a policy decision made above the parser."""

    def verify(self, cert: Any) -> None:
        return None


@lru_cache(maxsize=1)
def _verifier() -> Any:
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier
    from sigstore_models.trustroot import v1 as trustroot_v1

    raw = resources.files("sigstore._store").joinpath(PRODUCTION_TUF, "trusted_root.json").read_bytes()
    return Verifier(trusted_root=TrustedRoot(trustroot_v1.TrustedRoot.from_json(raw)))


def verify_bundle(bundle: dict[str, Any], message_digest: bytes | None) -> TrustResult:
    """Verify against the production trust root; never raises."""
    try:
        verifier = _verifier()
        from sigstore.hashes import Hashed
        from sigstore.models import Bundle
        from sigstore_models.common.v1 import HashAlgorithm
    except Exception as exc:  # missing or broken optional dependency
        return TrustResult("unavailable", f"sigstore verification unavailable: {type(exc).__name__}")
    try:
        loaded = Bundle.from_json(json.dumps(bundle))
        if message_digest is None:
            verifier.verify_dsse(loaded, _AnyIdentity())
        else:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=message_digest)
            verifier.verify_artifact(hashed, loaded, _AnyIdentity())
    except Exception as exc:  # sigstore raises several error types; all mean "not verified"
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        if any(marker in reason for marker in _UNSUPPORTED):
            return TrustResult("unsupported", reason)
        return TrustResult("failed", reason)
    return TrustResult("verified")
