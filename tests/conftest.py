"""Repository-level pytest hooks."""

from __future__ import annotations

import pytest

from tests.maestro.databases import POSTGRES_ENV, postgres_url


def pytest_report_header(config: pytest.Config) -> str:
    if postgres_url():
        return "maestro databases: sqlite and postgresql"
    return f"maestro databases: sqlite only (set {POSTGRES_ENV} to run the PostgreSQL half too)"
