"""The wire contract of ``/maestro/waivers``, shared with the SDK. Shapes only: that
exactly one scope is given, that the run exists, that the expiry is within bounds and
that the purl is usable are the service's to check (422 naming the field)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints

from maestro.models import Owner, Timestamp
from maestro.policies.contract import MAX_MATCH_KEYS, MatchKey, MatchValue, RuleName

MAX_REASON_CHARS = 1000
MAX_PURL_CHARS = 1000

Reason = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=MAX_REASON_CHARS)]


class WaiverScope(StrEnum):
    RUN = "run"
    MATCH = "match"
    PURL = "purl"


class WaiverMatch(BaseModel):
    """Runs of this ``owner`` and/or whose metadata has each of these top-level keys with
    exactly this value (same JSON type)."""

    model_config = ConfigDict(extra="forbid")

    owner: Owner | None = None
    metadata: Annotated[dict[MatchKey, MatchValue], Field(min_length=1, max_length=MAX_MATCH_KEYS)] | None = (
        None
    )


class WaiverCreate(BaseModel):
    """A waiver of ``rule`` for one scope: ``run_id``, ``match`` or ``purl`` (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    rule: RuleName = Field(description="The rule's name, as the gate's results[].rule give it.")
    run_id: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="One run of the caller's tenant."
    )
    match: WaiverMatch | None = Field(default=None, description="Runs matching owner and/or metadata.")
    purl: Annotated[str, Strict(), StringConstraints(min_length=5, max_length=MAX_PURL_CHARS)] | None = Field(
        default=None,
        description="Runs whose SBOM components include this package URL (no version: any).",
    )
    reason: Reason = Field(description=f"Why; 1 to {MAX_REASON_CHARS} characters, not blank.")
    expires_at: Timestamp = Field(description="RFC 3339; in the future, within MAESTRO_WAIVER_MAX_DAYS.")


class Waiver(BaseModel):
    """A waiver as stored, with whether it is ``active`` (in force) when answered."""

    id: str
    rule: str
    scope: WaiverScope
    run_id: str | None = None
    match: WaiverMatch | None = None
    purl: str | None = None
    reason: str
    created_by: str = Field(description="The id of the token that created it ('local' in local mode).")
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    active: bool = Field(description="In force now: not revoked and not expired.")
