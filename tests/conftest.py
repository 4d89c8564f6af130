"""Repository-level pytest hooks and hypothesis profiles."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.maestro.databases import postgres_plan
from tests.maestro.skips import summary_lines

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("dev", max_examples=60, **_COMMON)
settings.register_profile("ci", max_examples=200, derandomize=True, print_blob=True, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"maestro databases: {postgres_plan()}"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Skips grouped by reason at the end of the run, each reason saying how to run them."""
    lines = summary_lines(terminalreporter.stats.get("skipped", []))
    if not lines:
        return
    terminalreporter.section("skipped tests, by reason")
    for line in lines:
        terminalreporter.write_line(line)
