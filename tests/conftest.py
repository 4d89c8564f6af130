"""Repository-level pytest hooks and hypothesis profiles."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.maestro.databases import POSTGRES_ENV, postgres_url

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("dev", max_examples=60, **_COMMON)
settings.register_profile("ci", max_examples=200, derandomize=True, print_blob=True, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_report_header(config: pytest.Config) -> str:
    if postgres_url():
        return "maestro databases: sqlite and postgresql"
    return f"maestro databases: sqlite only (set {POSTGRES_ENV} to run the PostgreSQL half too)"
