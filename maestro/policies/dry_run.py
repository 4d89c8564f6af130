"""A policy dry-run: its wire contract, and which rules turn one run's verdict. Pure.

A dry-run judges past runs under a candidate policy version beside the policy each run
is judged by now, and reports only the runs whose verdict would change. The rules that
change it are those that block on one side and not on the other (a rule blocks when it
is ``failed`` and ``blocking``; a rule one policy has and the other lacks blocks on
one side at most), so a verdict that changes always names at least one rule, and a
rule that only moved from ``passed`` to an advisory failure is never listed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from maestro.models import (
    Owner,
    PolicyRef,
    RuleResult,
    RuleStatus,
    RunStatus,
    Severity,
    Timestamp,
)
from maestro.pagination import CURSOR_PATTERN, MAX_CURSOR_LENGTH

MAX_RUNS = 10_000
MAX_CHANGED = 1000
DEFAULT_CHANGED = 100
MAX_MESSAGE_CHARS = 1000


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunFilters(_Input):
    """The run-list filters of ``GET /maestro/runs``, with the same meaning."""

    owner: Owner | None = None
    status: RunStatus | None = None
    entity_id: Annotated[str, StringConstraints(max_length=256)] | None = None
    decision_id: Annotated[str, StringConstraints(max_length=256)] | None = None
    started_after: Timestamp | None = Field(default=None, description="Inclusive.")
    started_before: Timestamp | None = Field(default=None, description="Exclusive.")


class DryRunRequest(_Input):
    version: int | None = Field(
        default=None, ge=1, description="The candidate version (default: the policy's newest)."
    )
    filters: RunFilters = Field(default_factory=RunFilters)
    limit: int = Field(
        default=MAX_RUNS, ge=1, le=MAX_RUNS, description="At most this many runs are considered."
    )
    max_changed: int = Field(
        default=DEFAULT_CHANGED,
        ge=1,
        le=MAX_CHANGED,
        description="At most this many changed runs are listed (all are counted in changed_total).",
    )
    cursor: Annotated[str, StringConstraints(max_length=MAX_CURSOR_LENGTH, pattern=CURSOR_PATTERN)] | None = (
        Field(default=None, description="Continue after the runs a previous answer considered (next_cursor).")
    )


class RuleChange(BaseModel):
    """One rule that blocks on one side and not on the other (null: the policy lacks it)."""

    rule: str
    current_status: RuleStatus | None
    candidate_status: RuleStatus | None
    current_severity: Severity | None
    candidate_severity: Severity | None
    message: str = Field(description="Why the rule blocks, from the side where it does.")


class CurrentVerdict(BaseModel):
    passed: bool
    policy: PolicyRef = Field(description="The policy version that judges the run now.")


class CandidateVerdict(BaseModel):
    passed: bool


class ChangedRun(BaseModel):
    run_id: str
    current: CurrentVerdict
    candidate: CandidateVerdict
    rules: list[RuleChange]


class DryRunResult(BaseModel):
    policy: PolicyRef = Field(description="The candidate policy version.")
    evaluated_at: datetime
    considered: int = Field(description="Runs judged (matching the filters, newest first).")
    changed_total: int = Field(description="Of those, runs whose verdict would change.")
    changed: list[ChangedRun] = Field(description="The first max_changed of them, newest run first.")
    truncated: bool = Field(
        description="More runs match than were considered (the limit or the time budget was reached); "
        "send next_cursor as cursor to go on."
    )
    next_cursor: str | None = None


def blocks(result: RuleResult) -> bool:
    return result.status is RuleStatus.FAILED and result.severity is Severity.BLOCKING


def _short(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 1] + "…"


def changed_rules(current: list[RuleResult], candidate: list[RuleResult]) -> list[RuleChange]:
    """The rules that block on exactly one side, by name."""
    now = {r.rule: r for r in current}
    then = {r.rule: r for r in candidate}
    out = []
    for rule in sorted(now.keys() | then.keys()):
        a, b = now.get(rule), then.get(rule)
        a_blocks, b_blocks = a is not None and blocks(a), b is not None and blocks(b)
        if a_blocks == b_blocks:
            continue
        blocking = a if a_blocks else b
        out.append(
            RuleChange(
                rule=rule,
                current_status=a.status if a else None,
                candidate_status=b.status if b else None,
                current_severity=a.severity if a else None,
                candidate_severity=b.severity if b else None,
                message=_short(blocking.message if blocking else ""),
            )
        )
    return out


def compare(
    run_id: str, current_policy: PolicyRef, current: list[RuleResult], candidate: list[RuleResult]
) -> ChangedRun | None:
    """The run's entry in a dry-run (from each side's rule results, ``engine.rule_results``),
    or None when both verdicts agree."""
    now = not any(blocks(r) for r in current)
    then = not any(blocks(r) for r in candidate)
    if now == then:
        return None
    return ChangedRun(
        run_id=run_id,
        current=CurrentVerdict(passed=now, policy=current_policy),
        candidate=CandidateVerdict(passed=then),
        rules=changed_rules(current, candidate),
    )
