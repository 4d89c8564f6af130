"""What the engine needs of a Rego evaluator, and where it finds one.

The sandboxed evaluator lives in ``maestro.policies.rego`` (``compile_error(module)``,
``evaluate(module, input, *, timeout_s, memory_bytes)`` returning ``violations``,
``warnings`` and ``error``). The engine takes any object of this shape, so it stays a
pure function and tests can hand it a fake; ``default_evaluator`` answers with that
module. ``Unavailable`` refuses every module and says why: the engine's evaluator when a
caller gives it none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

TIMEOUT_S = 2.0
MEMORY_BYTES = 256 * 1024 * 1024
UNAVAILABLE = "Rego policies need an evaluator (maestro.policies.rego), and none was given"


class RegoFinding(Protocol):
    @property
    def rule(self) -> str: ...

    @property
    def message(self) -> str: ...


class RegoOutcome(Protocol):
    @property
    def violations(self) -> Sequence[RegoFinding]: ...

    @property
    def warnings(self) -> Sequence[RegoFinding]: ...

    @property
    def error(self) -> str | None: ...


class RegoEvaluator(Protocol):
    def compile_error(self, module: str) -> str | None: ...

    def evaluate(
        self,
        module: str,
        input: dict[str, Any],  # noqa: A002 - the evaluator's own name for it
        *,
        timeout_s: float,
        memory_bytes: int,
    ) -> RegoOutcome: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    violations: Sequence[RegoFinding] = ()
    warnings: Sequence[RegoFinding] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The evaluator of a build without Rego support: every module is refused."""

    reason: str = field(default=UNAVAILABLE)

    def compile_error(self, module: str) -> str | None:
        return self.reason

    def evaluate(
        self,
        module: str,
        input: dict[str, Any],  # noqa: A002 - the evaluator's own name for it
        *,
        timeout_s: float,
        memory_bytes: int,
    ) -> RegoOutcome:
        return Outcome(error=self.reason)


@cache
def default_evaluator() -> RegoEvaluator:
    """The sandboxed evaluator, imported on first use: a process that never judges a Rego
    policy never loads regopy."""
    from maestro.policies import rego

    return rego
