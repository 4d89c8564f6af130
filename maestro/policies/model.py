"""A policy version as the engine sees it, waivers, and the canonical content digest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from maestro.models import Severity
from maestro.policies.document import InputDocument, canonical_json

PolicyKind = Literal["builtin", "rego"]


@dataclass(frozen=True, slots=True)
class RuleSetting:
    """A policy's word on one rule: its severity and the date it comes into force."""

    rule: str
    severity: Severity | None = None
    effective_on: date | None = None


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """One immutable policy version."""

    id: str
    name: str
    version: int
    kind: PolicyKind
    builtin: str | None = None
    module: str | None = None
    default_severity: Severity | None = None
    rules: tuple[RuleSetting, ...] = ()
    digest: str = ""

    def setting(self, rule: str) -> RuleSetting | None:
        return next((s for s in self.rules if s.rule == rule), None)


@dataclass(frozen=True, slots=True)
class Waiver:
    """An active waiver of one rule (which runs it covers is decided before the engine)."""

    rule: str
    reason: str
    by: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Check:
    """What a built-in rule finds: never raises, always says why."""

    passed: bool
    message: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuiltinRule:
    name: str
    description: str
    check: Callable[[InputDocument], Check] = field(repr=False)


def content(
    name: str,
    kind: PolicyKind,
    builtin: str | None,
    module: str | None,
    default_severity: Severity | None,
    rules: tuple[RuleSetting, ...],
) -> dict[str, Any]:
    """A version's content as JSON data: what its digest covers (rules sorted by name)."""
    return {
        "name": name,
        "kind": kind,
        "builtin": builtin,
        "module": module,
        "default_severity": default_severity.value if default_severity else None,
        "rules": [
            {
                "rule": r.rule,
                "severity": r.severity.value if r.severity else None,
                "effective_on": r.effective_on.isoformat() if r.effective_on else None,
            }
            for r in sorted(rules, key=lambda r: r.rule)
        ],
    }


def content_digest(data: dict[str, Any]) -> str:
    """sha256:<hex> of the RFC 8785 form of ``content(...)`` (which holds no number)."""
    return "sha256:" + hashlib.sha256(canonical_json(data, floats=False)).hexdigest()


def spec(
    id: str,  # noqa: A002 - the policy's id, as the wire calls it
    version: int,
    name: str,
    kind: PolicyKind,
    *,
    builtin: str | None = None,
    module: str | None = None,
    default_severity: Severity | None = None,
    rules: tuple[RuleSetting, ...] = (),
) -> PolicySpec:
    """A policy version with its digest computed."""
    rules = tuple(sorted(rules, key=lambda r: r.rule))
    digest = content_digest(content(name, kind, builtin, module, default_severity, rules))
    return PolicySpec(id, name, version, kind, builtin, module, default_severity, rules, digest)
