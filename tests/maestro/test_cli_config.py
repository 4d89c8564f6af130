"""Settings precedence (flag > env > file > default), ``config show`` and the CI context."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.cli import ci
from tests.maestro.test_cli_support import Cli, one_line_error, wire

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/app",
    "GITHUB_SHA": "0123abc",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_RUN_ID": "42",
    "GITHUB_WORKFLOW": "release",
    "GITHUB_SERVER_URL": "https://github.com",
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "acme/app",
    "CI_COMMIT_SHA": "0123abc",
    "CI_COMMIT_REF_NAME": "main",
    "CI_PIPELINE_ID": "77",
    "CI_PIPELINE_URL": "https://gitlab.com/acme/app/-/pipelines/77",
    "CI_JOB_ID": "901",
}


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "xdg" / "maestro" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('url = "http://from-file:1"\ntoken = "file-token-123456"\nowner = "file-owner"\n')
    return path


def shown(mcli: Cli, *flags: str) -> dict[str, tuple[str, str]]:
    body = mcli.json(*flags, "config", "show")
    return {key: (body[key]["value"], body[key]["source"]) for key in ("url", "token", "owner")}


def test_defaults(mcli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "me")
    assert shown(mcli) == {
        "url": ("http://127.0.0.1:8001", "default"),
        "token": (None, "default"),
        "owner": ("me", "default (login name)"),
    }
    assert "(not present)" in mcli.ok("config", "show").stdout


def test_file_then_env_then_flag(mcli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = str(config_file)
    assert shown(mcli) == {
        "url": ("http://from-file:1", source),
        "token": ("****3456", source),
        "owner": ("file-owner", source),
    }
    monkeypatch.setenv("MAESTRO_URL", "http://from-env:2")
    monkeypatch.setenv("MAESTRO_TOKEN", "env-token-abcdefgh")
    monkeypatch.setenv("MAESTRO_OWNER", "env-owner")
    assert shown(mcli) == {
        "url": ("http://from-env:2", "env MAESTRO_URL"),
        "token": ("****efgh", "env MAESTRO_TOKEN"),
        "owner": ("env-owner", "env MAESTRO_OWNER"),
    }
    flags = shown(mcli, "--url", "http://from-flag:3", "--token", "flag-token-zyxwvu")
    assert flags["url"] == ("http://from-flag:3", "flag")
    assert flags["token"] == ("****xwvu", "flag")
    text = mcli.ok("--token", "flag-token-zyxwvu", "config", "show").stdout
    assert "flag-token" not in text
    assert "****xwvu" in text


def test_commands_use_the_resolved_endpoint(
    mcli: Cli, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mcli.ok("runs", "list")
    monkeypatch.setenv("MAESTRO_URL", "http://from-env:2")
    mcli.ok("runs", "list")
    mcli.ok("--url", "http://from-flag:3", "--token", "t", "runs", "list")
    assert [(e.url, e.token) for e in mcli.endpoints] == [
        ("http://from-file:1", "file-token-123456"),
        ("http://from-env:2", "file-token-123456"),
        ("http://from-flag:3", "t"),
    ]
    assert mcli.json("runs", "create", "--name", "x")["owner"] == "file-owner"


@pytest.mark.parametrize(
    ("content", "message"),
    [("url = ", "not valid TOML"), ('URL = "x"', "unknown key(s) URL"), ("url = 3", "url must be a string")],
)
def test_broken_config_file_exits_2(mcli: Cli, config_file: Path, content: str, message: str) -> None:
    config_file.write_text(content)
    result = mcli("runs", "list")
    assert result.exit_code == 2
    assert message in one_line_error(result)


def test_github_actions_context(mcli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    body = mcli.json("runs", "create", "--name", "build", "--owner", "ci", "--metadata", "team=core")
    assert body["metadata"] == {
        "team": "core",
        "ci": {
            "provider": "github",
            "repository": "acme/app",
            "sha": "0123abc",
            "ref": "refs/heads/main",
            "workflow": "release",
            "pipeline_id": "42",
            "url": "https://github.com/acme/app/actions/runs/42",
        },
    }
    off = mcli.json("runs", "create", "--name", "build", "--owner", "ci", "--no-ci-context")
    assert off["metadata"] == {}


def test_gitlab_context(mcli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GITLAB.items():
        monkeypatch.setenv(name, value)
    body = mcli.json("runs", "create", "--name", "build", "--owner", "ci")
    assert body["metadata"]["ci"] == {
        "provider": "gitlab",
        "repository": "acme/app",
        "sha": "0123abc",
        "ref": "main",
        "pipeline_id": "77",
        "job_id": "901",
        "url": "https://gitlab.com/acme/app/-/pipelines/77",
    }


def test_no_context_outside_ci() -> None:
    assert ci.detect({}) is None
    assert ci.detect({"GITHUB_ACTIONS": "false", "CI_PIPELINE_ID": "1"}) is None
    assert ci.detect({"GITHUB_ACTIONS": "true"}) == {"provider": "github"}
