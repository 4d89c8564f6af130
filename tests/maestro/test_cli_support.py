"""Helpers for the ``test_cli_*`` modules: the real ``maestro`` command on the real app.

``wire`` points the CLI's client factory at the ``client`` fixture's
TestClient, so each invocation goes CLI -> SDK -> API -> database in-process,
and clears every variable that could leak in from the developer's shell or CI.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from maestro.cli import cli, state
from maestro.client import MaestroClient

ENV_TO_CLEAR = (
    "MAESTRO_URL",
    "MAESTRO_TOKEN",
    "MAESTRO_OWNER",
    "MAESTRO_DEBUG",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "COLUMNS",
)


@dataclass
class Cli:
    """Runs ``maestro ARGS``; ``endpoints`` records where each client was pointed."""

    http: TestClient
    runner: CliRunner = field(default_factory=CliRunner)
    endpoints: list[state.Endpoint] = field(default_factory=list)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(cli, list(args), env=env)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def id(self, *args: str) -> str:
        ident = self.ok(*args, "-q").stdout.strip()
        assert ident
        assert "\n" not in ident
        return ident

    def factory(self) -> Callable[[state.Endpoint], MaestroClient]:
        def make(endpoint: state.Endpoint) -> MaestroClient:
            self.endpoints.append(endpoint)
            return MaestroClient(endpoint.url, endpoint.token, http=self.http)

        return make


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean environment with its own XDG_CONFIG_HOME; returns the config file's path."""
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "maestro" / "config.toml"


def wire(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """The CLI with a clean environment, talking to the in-process app through the SDK.

    Each test module wraps this in its own fixture (importing a fixture would
    shadow it in every test's arguments)."""
    clean_env(monkeypatch, tmp_path)
    runner = Cli(client)
    monkeypatch.setattr(state, "client_factory", runner.factory())
    return runner


def one_line_error(result: Result) -> str:
    """The error output, checked to be one line and no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("error: ")
    return lines[0]


# The console script's code, so a subprocess runs the installed command without relying on PATH.
MAESTRO = [sys.executable, "-c", "from maestro.cli import main; main()"]


def clean_environment(**extra: str) -> dict[str, str]:
    """The current environment without any ``MAESTRO_*`` variable, plus ``extra`` (for subprocesses)."""
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("MAESTRO_")}
    return env | extra
