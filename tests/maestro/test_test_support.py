"""The suite's own machinery: the throwaway PostgreSQL and the closing skip summary."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.maestro import throwaway_postgres
from tests.maestro.skips import summary_lines


def test_skips_are_grouped_by_reason_commonest_first() -> None:
    def skipped(reason: str) -> SimpleNamespace:
        return SimpleNamespace(skipped=True, longrepr=("f.py", 1, f"Skipped: {reason}"))

    reports = [skipped("b"), skipped("a: set X"), skipped("a: set X"), SimpleNamespace(skipped=False)]
    assert summary_lines(reports) == ["    2  a: set X", "    1  b"]


def test_a_throwaway_server_runs_unprivileged_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = throwaway_postgres.unavailable_reason()
    if reason is not None:
        pytest.skip(f"install the PostgreSQL server to run this: {reason}")
    made: list[str] = []
    real_mkdtemp = throwaway_postgres.tempfile.mkdtemp

    def remember(*args: object, **kwargs: object) -> str:
        made.append(real_mkdtemp(*args, **kwargs))  # type: ignore[call-overload]
        return made[-1]

    monkeypatch.setattr(throwaway_postgres.tempfile, "mkdtemp", remember)
    with throwaway_postgres.throwaway_postgres() as url:
        engine = create_engine(url)
        with engine.connect() as conn:
            user = conn.execute(text("SELECT current_user")).scalar_one()
            owner = conn.execute(text("SHOW data_directory")).scalar_one()
        engine.dispose()
        assert user == "postgres"
        assert owner.startswith(made[0])  # its cluster is in the temporary directory
        port = make_url(url).port
    assert not Path(made[0]).exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # and the server is gone


def test_no_binaries_is_a_reason_that_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throwaway_postgres, "find_pg_ctl", lambda: None)
    assert "initdb, pg_ctl" in (throwaway_postgres.unavailable_reason() or "")
