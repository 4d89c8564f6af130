"""The wire contract of ``/maestro/policies`` and ``/maestro/policy-assignments``, shared
with the SDK. Shapes only: which built-in or rule a name means, whether a module compiles
and what a policy id refers to are the service's to check (422 naming the field)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints

from maestro.models import Owner, Severity

MAX_MODULE_CHARS = 64 * 1024
MAX_RULES = 100
MAX_MATCH_KEYS = 8
POLICY_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"
RULE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"

PolicyName = Annotated[str, Strict(), StringConstraints(pattern=POLICY_NAME_PATTERN)]
RuleName = Annotated[str, Strict(), StringConstraints(pattern=RULE_NAME_PATTERN)]
MatchKey = Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
MatchValue = Annotated[str, Strict(), StringConstraints(max_length=256)] | Annotated[int, Strict()] | bool


def _iso_date(value: object) -> object:
    """``YYYY-MM-DD`` text (or a ``date`` from Python callers); never a number."""
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    raise ValueError("must be a date, YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class PolicyKind(StrEnum):
    BUILTIN = "builtin"
    REGO = "rego"


class AssignmentScope(StrEnum):
    TENANT = "tenant"
    OWNER = "owner"
    METADATA = "metadata"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleSetting(_Input):
    """A policy's word on one rule. For a built-in policy, listing an optional rule
    (``dsse-trusted-signature``...) turns it on."""

    rule: RuleName
    severity: Severity | None = None
    effective_on: IsoDate | None = Field(
        default=None, description="YYYY-MM-DD (UTC). Before it, a failure is reported as a warning."
    )


def _unique_rules(rules: list[RuleSetting]) -> list[RuleSetting]:
    seen: set[str] = set()
    for setting in rules:
        if setting.rule in seen:
            raise ValueError(f"lists rule {setting.rule!r} more than once")
        seen.add(setting.rule)
    return rules


class PolicyCreate(_Input):
    """A new policy, or (same ``name``) a new version of one."""

    name: PolicyName
    kind: PolicyKind
    builtin: Annotated[str, Strict(), StringConstraints(max_length=64)] | None = Field(
        default=None, description="kind builtin: seed-default or verified-evidence."
    )
    module: Annotated[str, Strict(), StringConstraints(max_length=MAX_MODULE_CHARS)] | None = Field(
        default=None, description=f"kind rego: the Rego module, at most {MAX_MODULE_CHARS} characters."
    )
    default_severity: Severity | None = Field(
        default=None, description="For rules with no severity of their own; unset: the tenant's default."
    )
    rules: Annotated[list[RuleSetting], Field(max_length=MAX_RULES), AfterValidator(_unique_rules)] = Field(
        default_factory=list
    )


class Policy(BaseModel):
    """One version of a policy (versions are immutable; ``id`` names them all)."""

    id: str
    name: str
    version: int
    digest: str = Field(description="sha256:<hex> of the RFC 8785 form of the version's content.")
    kind: PolicyKind
    builtin: str | None = None
    module: str | None = None
    default_severity: Severity | None = None
    rules: list[RuleSetting] = Field(default_factory=list)
    created_at: datetime | None = Field(default=None, description="Null for an unstored built-in.")


class PolicyAssignmentCreate(_Input):
    """Neither ``owner`` nor ``metadata``: the tenant's default. ``metadata``: runs whose
    metadata has each of these top-level keys with exactly this value."""

    policy_id: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=64)]
    policy_version: Annotated[int, Strict(), Field(ge=1)] | None = Field(
        default=None, description="Pin a version; unset: the newest version in force."
    )
    owner: Owner | None = None
    metadata: Annotated[dict[MatchKey, MatchValue], Field(min_length=1, max_length=MAX_MATCH_KEYS)] | None = (
        None
    )
    default_severity: Severity | None = Field(
        default=None, description="Tenant default only: the severity of rules no policy gives one."
    )


class PolicyAssignment(BaseModel):
    id: str
    scope: AssignmentScope
    policy_id: str
    policy_version: int | None = None
    owner: str | None = None
    metadata: dict[str, str | int | bool] | None = None
    default_severity: Severity | None = None
    created_at: datetime
