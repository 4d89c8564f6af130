"""The closing summary of skipped tests: one line per reason with its count, so a run
says what it did not test and how to test it (each reason names the setting)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

_PREFIX = "Skipped: "


def skip_reason(report: Any) -> str:
    """The reason pytest recorded for a skipped test (``longrepr`` is (path, line, reason))."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix(_PREFIX)


def summary_lines(reports: Iterable[Any]) -> list[str]:
    """``"<count>  <reason>"`` lines, the commonest reason first."""
    counts = Counter(skip_reason(r) for r in reports if getattr(r, "skipped", False))
    return [f"{count:5d}  {reason}" for reason, count in counts.most_common()]
