"""The findings one attestation parse collects, shared by the DSSE, Sigstore and in-toto steps.

Parsers append here instead of raising so a single file can report every
problem it has (a bad digest *and* a bad signature) with its JSON pointer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from maestro.evidence.model import Finding, Signature

Status = Literal["verified", "unverified", "invalid"]


@dataclass(slots=True)
class Report:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    strict: bool = False

    def deviation(self, location: str, message: str) -> None:
        """Breaks the spec text but real producers emit it: a warning, an error under strict parsing."""
        (self.error if self.strict else self.warn)(location, message)

    def error(self, location: str, message: str) -> None:
        self.errors.append(Finding(location=location, message=message))

    def warn(self, location: str, message: str) -> None:
        self.warnings.append(Finding(location=location, message=message))


def obj(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one: hostile input has any shape."""
    return value if isinstance(value, dict) else {}


def combine(signatures: list[Signature]) -> Signature | None:
    """One verdict for a file holding several attestations: any invalid wins, all must verify."""
    if not signatures:
        return None
    if len(signatures) == 1:
        return signatures[0]
    statuses = [s.status for s in signatures]
    detail = "; ".join(
        f"#{i}: {s.status}" + (f" ({s.detail})" if s.detail else "") for i, s in enumerate(signatures)
    )
    key_ids = {s.key_id for s in signatures if s.key_id}
    key_id = key_ids.pop() if len(key_ids) == 1 else None
    status: Status
    if "invalid" in statuses:
        status = "invalid"
    elif all(s == "verified" for s in statuses):
        status = "verified"
    else:
        status = "unverified"
    return Signature(status=status, key_id=key_id, detail=detail)
