"""The error for a ``MAESTRO_*`` variable that cannot be used, shared by the server and the client.

Whoever reads a variable (``maestro.config`` for the server, ``maestro.client.environment``
for the SDK and the CLI) reports a bad one as ``BadSetting``: each problem is
one line naming the variable, the value as given and what is allowed, such as
``MAESTRO_DB_POOL_SIZE=0: must be at least 1``, because that line is all a
person reading a CI log or a container's output needs to fix it. This module
imports nothing, so the CLI can catch the error without loading either side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One unusable variable; ``value`` is ``None`` when it is a secret and must not be echoed."""

    variable: str
    value: str | None
    allowed: str

    def __str__(self) -> str:
        if self.value is None:
            shown = "<hidden>"
        elif self.value.isprintable():
            shown = self.value
        else:  # a line break or control character would split or garble the one line
            shown = self.value.encode("unicode_escape").decode("ascii")
        return f"{self.variable}={shown}: {self.allowed}"


class BadSetting(ValueError):
    """One or more ``MAESTRO_*`` variables cannot be used; ``problems`` lists each, one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("BadSetting needs at least one problem")
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def lines(self, prefix: str = "error: ") -> list[str]:
        """The problems as printable lines, each with ``prefix``."""
        return [f"{prefix}{problem}" for problem in self.problems]
