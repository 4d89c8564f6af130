"""The `maestro` command's database and server entry points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from maestro.cli import cli
from maestro.config import get_settings
from maestro.db import migrate
from maestro.db.engine import Database


@pytest.fixture
def fresh_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MAESTRO_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_db_current_on_empty_then_upgrade(fresh_url: str) -> None:
    runner = CliRunner()
    before = runner.invoke(cli, ["db", "current"])
    assert before.exit_code == 0
    assert "(empty)" in before.output
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"database at {migrate.head_revision()} (was empty)" in upgraded.output
    after = runner.invoke(cli, ["db", "current"])
    assert "(current)" in after.output
    again = runner.invoke(cli, ["db", "upgrade"])
    assert f"(was {migrate.head_revision()})" in again.output


def test_db_upgrade_refuses_newer_schema(fresh_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    db = Database(fresh_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zzzz'"))
    db.dispose()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "newer than this Maestro release" in result.output
    assert "(newer than this release)" in runner.invoke(cli, ["db", "current"]).output


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("server", "db"):
        assert command in result.output


def test_db_prune_removes_expired_idempotency_records(fresh_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from maestro.services import idempotency
    from maestro.storage import idempotency as store

    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    db = Database(fresh_url)
    old = datetime.now(UTC) - idempotency.TTL - timedelta(minutes=5)
    with db.write() as session:
        for key, when in (("old", old), ("new", datetime.now(UTC))):
            record = store.IdempotencyRecord("POST /maestro/runs", key, "0" * 64, 201, b"{}", {}, when)
            store.insert_record(session, "default", record)
    db.dispose()
    result = runner.invoke(cli, ["db", "prune"])
    assert result.exit_code == 0
    assert "removed 1 expired idempotency record(s)" in result.output
