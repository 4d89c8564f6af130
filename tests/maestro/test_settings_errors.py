"""A ``MAESTRO_*`` value that cannot be used: one line naming the variable, the value and the rule.

Server settings (``maestro.config``) and client settings (``maestro.client.environment``,
``maestro.cli.settings``) alike; through ``get_settings``, the CLI (exit 2) and
``python -m uvicorn maestro.app:app``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from maestro.cli import cli
from maestro.client import MaestroClient
from maestro.config import get_settings
from maestro.environment import BadSetting
from tests.maestro.live_server import free_port
from tests.maestro.test_cli_support import clean_environment

SERVER_CASES = [
    ("MAESTRO_DB_POOL_SIZE", "0", "must be at least 1"),
    ("MAESTRO_DB_POOL_SIZE", "201", "must be at most 200"),
    ("MAESTRO_DB_POOL_SIZE", "lots", "must be a whole number"),
    ("MAESTRO_MAX_REQUEST_BYTES", "10", "must be at least 1024"),
    ("MAESTRO_INTELGRAPH_TIMEOUT", "0", "must be greater than 0"),
    ("MAESTRO_INTELGRAPH_TIMEOUT", "soon", "must be a number"),
    ("MAESTRO_AUTO_MIGRATE", "maybe", "must be true or false (also 1/0, yes/no, on/off)"),
    ("MAESTRO_INTELGRAPH_URL", "ftp://graph", "must be an http:// or https:// URL"),
    ("MAESTRO_LOG_LEVEL", "LOUD", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)"),
]
SUPPORTED = (
    "Maestro supports SQLite (sqlite:///path/to/maestro.db) "
    "and PostgreSQL (postgresql+psycopg://user@host:5432/dbname)"
)


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No MAESTRO_* from the shell, a data directory of the test's own, and no cached settings."""
    for name in [name for name in os.environ if name.upper().startswith("MAESTRO_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MAESTRO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def bad_setting(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> BadSetting:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    with pytest.raises(BadSetting) as caught:
        get_settings()
    return caught.value


@pytest.mark.parametrize(("variable", "value", "rule"), SERVER_CASES)
def test_server_setting_names_variable_value_and_rule(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, rule: str
) -> None:
    assert str(bad_setting(monkeypatch, variable, value)) == f"{variable}={value}: {rule}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@db/maestro", f"unsupported database URL scheme 'mysql'; {SUPPORTED}"),
        (
            "postgresql+psycopg2://u@db/m",
            f"unsupported database URL scheme 'postgresql+psycopg2'; {SUPPORTED}",
        ),
        ("maestro.db", f"must be a database URL; {SUPPORTED}"),
    ],
)
def test_unsupported_database_says_what_is_supported(
    monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    assert (
        str(bad_setting(monkeypatch, "MAESTRO_DATABASE_URL", url)) == f"MAESTRO_DATABASE_URL={url}: {message}"
    )


def test_a_value_with_a_line_break_stays_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert str(bad_setting(monkeypatch, "MAESTRO_DB_POOL_SIZE", "4\n0")) == (
        "MAESTRO_DB_POOL_SIZE=4\\n0: must be a whole number"
    )


def test_a_password_in_a_refused_url_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    line = str(bad_setting(monkeypatch, "MAESTRO_DATABASE_URL", "mysql://maestro:s3cret@db/maestro"))
    assert "s3cret" not in line
    assert line.startswith("MAESTRO_DATABASE_URL=mysql://maestro:***@db/maestro: unsupported")


def test_an_empty_database_url_means_the_sqlite_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MAESTRO_DATABASE_URL", "")
    assert (
        get_settings().resolved_database_url() == f"sqlite:///{(tmp_path / 'data' / 'maestro.db').resolve()}"
    )


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgresql_urls_mean_psycopg_3(monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    monkeypatch.setenv("MAESTRO_DATABASE_URL", f"{scheme}://u@db:5432/maestro")
    assert get_settings().resolved_database_url() == "postgresql+psycopg://u@db:5432/maestro"


def test_every_bad_variable_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAESTRO_DB_POOL_SIZE", "0")
    error = bad_setting(monkeypatch, "MAESTRO_ACCESS_LOG", "loud")
    assert error.lines() == [
        "error: MAESTRO_DB_POOL_SIZE=0: must be at least 1",
        "error: MAESTRO_ACCESS_LOG=loud: must be true or false (also 1/0, yes/no, on/off)",
    ]


def outcome(variable: str, value: str) -> int | BadSetting:
    """The setting's value, or the error that refused it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(variable, value)
        get_settings.cache_clear()
        try:
            return get_settings().db_pool_size
        except BadSetting as exc:
            return exc
        finally:
            get_settings.cache_clear()


@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20))
def test_any_pool_size_is_accepted_or_explained(value: str) -> None:
    """Whatever is typed, the outcome is a valid setting or one line about that variable."""
    result = outcome("MAESTRO_DB_POOL_SIZE", value)
    if isinstance(result, BadSetting):
        (problem,) = result.problems
        assert problem.variable == "MAESTRO_DB_POOL_SIZE"
        line = str(result)
        assert line.endswith(f": {problem.allowed}")
        assert line.startswith(
            f"MAESTRO_DB_POOL_SIZE={value}:" if value.isprintable() else "MAESTRO_DB_POOL_SIZE="
        )
        assert line.isprintable(), "the explanation must stay one readable line"
    else:
        assert 1 <= result <= 200


@pytest.mark.parametrize("args", [["db", "current"], ["db", "upgrade"], ["server", "--port", "0"]])
def test_cli_server_side_commands_print_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str]
) -> None:
    monkeypatch.setenv("MAESTRO_DB_POOL_SIZE", "0")
    if args[0] == "server":
        args = ["server", "--port", str(free_port())]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr == "error: MAESTRO_DB_POOL_SIZE=0: must be at least 1\n"
    assert not (tmp_path / "data").exists()  # refused before any database was opened


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("MAESTRO_URL", "localhost:8001", "MAESTRO_URL=localhost:8001: must be an http:// or https:// URL"),
        ("MAESTRO_URL", "http://", "MAESTRO_URL=http://: must be an http:// or https:// URL"),
        ("MAESTRO_TOKEN", "abc def", "MAESTRO_TOKEN=<hidden>: must not contain spaces, line breaks"),
        ("MAESTRO_DEBUG", "maybe", "MAESTRO_DEBUG=maybe: must be 1, true, yes or on (or 0, false, no, off)"),
    ],
)
@pytest.mark.parametrize("command", [["runs", "list"], ["gate", "r"], ["config", "show"]])
def test_client_setting_names_variable_value_and_rule(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, line: str, command: list[str]
) -> None:
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {line}")
    assert len(result.stderr.splitlines()) == 1
    assert "abc def" not in result.stderr


def test_a_bad_url_flag_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["--url", "127.0.0.1:8001", "runs", "list"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --url must be an http:// or https:// URL")


def test_a_bad_url_in_the_config_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "xdg" / "maestro" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('url = "maestro:8001"\n')
    result = CliRunner().invoke(cli, ["runs", "list"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: url must be an http:// or https:// URL")


@pytest.mark.parametrize(
    ("variable", "value"), [("MAESTRO_URL", "ftp://maestro"), ("MAESTRO_TOKEN", "line\nbreak")]
)
def test_sdk_refuses_a_bad_client_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(BadSetting) as caught:
        MaestroClient()
    assert [p.variable for p in caught.value.problems] == [variable]


def test_uvicorn_app_refuses_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = clean_environment(MAESTRO_DATA_DIR=str(tmp_path / "data"), MAESTRO_DB_POOL_SIZE="0")
    port = str(free_port())
    completed = subprocess.run(
        [sys.executable, "-m", "uvicorn", "maestro.app:app", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1] == "error: MAESTRO_DB_POOL_SIZE=0: must be at least 1"
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "data").exists()
