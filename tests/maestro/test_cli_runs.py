"""``maestro runs``: every subcommand, its three output modes and its exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.maestro.test_cli_support import Cli, one_line_error, wire


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


def test_create_quiet_prints_only_the_id(mcli: Cli, client: TestClient) -> None:
    run_id = mcli.id("runs", "create", "--name", "build", "--owner", "ci@example.com")
    assert client.get(f"/maestro/runs/{run_id}").json()["name"] == "build"


def test_create_json_is_the_api_response(mcli: Cli, client: TestClient) -> None:
    body = mcli.json(
        "runs", "create", "--name", "Entity network analysis", "--owner", "analyst@example.com",
        "--cost-estimate", "10", "--entity", "entity-123", "--entity", "entity-456",
        "--decision", "decision-1", "--metadata", "priority=high", "--metadata", "retries=3",
        "--metadata", 'tags=["a","b"]', "--status", "running",
    )  # fmt: skip
    assert body == client.get(f"/maestro/runs/{body['id']}").json()
    assert body["related_entity_ids"] == ["entity-123", "entity-456"]
    assert body["related_decision_ids"] == ["decision-1"]
    assert body["metadata"] == {"priority": "high", "retries": 3, "tags": ["a", "b"]}
    assert (body["status"], body["cost_estimate"]) == ("running", 10.0)


def test_human_output_names_the_run(mcli: Cli) -> None:
    result = mcli.ok("runs", "create", "--name", "nightly", "--owner", "ops")
    assert "nightly" in result.stdout
    assert "pending" in result.stdout


def test_owner_defaults_to_env_then_login_name(mcli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "login-user")
    assert mcli.json("runs", "create", "--name", "a")["owner"] == "login-user"
    monkeypatch.setenv("MAESTRO_OWNER", "env-owner")
    assert mcli.json("runs", "create", "--name", "b")["owner"] == "env-owner"
    assert mcli.json("runs", "create", "--name", "c", "--owner", "flag-owner")["owner"] == "flag-owner"


def test_get_and_list(mcli: Cli) -> None:
    first = mcli.id("runs", "create", "--name", "one", "--owner", "alice")
    second = mcli.id("runs", "create", "--name", "two", "--owner", "bob", "--entity", "e-1")
    assert mcli.json("runs", "get", first)["name"] == "one"
    assert mcli.id("runs", "get", first) == first
    assert [r["id"] for r in mcli.json("runs", "list")] == [second, first]
    assert [r["id"] for r in mcli.json("runs", "list", "--order", "asc")] == [first, second]
    assert mcli.ok("runs", "list", "-q", "--owner", "alice").stdout.split() == [first]
    assert [r["id"] for r in mcli.json("runs", "list", "--entity", "e-1")] == [second]
    assert mcli.ok("runs", "list", "-q", "--limit", "1").stdout.split() == [second]
    assert mcli.json("runs", "list", "--status", "succeeded") == []
    table = mcli.ok("runs", "list").stdout
    assert first in table
    assert second in table


def test_update_merges_metadata_and_null_deletes(mcli: Cli) -> None:
    run_id = mcli.id(
        "runs", "create", "--name", "x", "--owner", "o", "--metadata", "keep=1", "--metadata", "drop=2"
    )
    body = mcli.json(
        "runs", "update", run_id, "--metadata", "drop=null", "--metadata", "new=yes", "--name", "y"
    )
    assert body["metadata"] == {"keep": 1, "new": "yes"}
    assert body["name"] == "y"


def test_start_then_finish_with_defaults(mcli: Cli) -> None:
    run_id = mcli.id("runs", "create", "--name", "x", "--owner", "o")
    assert mcli.json("runs", "start", run_id)["status"] == "running"
    body = mcli.json("runs", "finish", run_id, "--cost-actual", "8.5", "--metadata", "result=ok")
    assert body["status"] == "succeeded"
    assert body["cost_actual"] == 8.5
    assert body["finished_at"] is not None
    assert body["metadata"] == {"result": "ok"}


@pytest.mark.parametrize(("flag", "status"), [("--failed", "failed"), ("--cancelled", "cancelled")])
def test_finish_failed_or_cancelled(mcli: Cli, flag: str, status: str) -> None:
    run_id = mcli.id("runs", "create", "--name", "x", "--owner", "o")
    assert mcli.json("runs", "finish", run_id, flag)["status"] == status


def test_finish_at_a_given_time(mcli: Cli) -> None:
    run_id = mcli.id("runs", "create", "--name", "x", "--owner", "o", "--started-at", "2025-11-22T09:00:00Z")
    body = mcli.json("runs", "finish", run_id, "--finished-at", "2025-11-22T10:30:00Z")
    assert body["finished_at"].startswith("2025-11-22T10:30:00")


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "finish", "RUN", "--failed", "--cancelled"],
        ["runs", "finish", "RUN", "--status", "running"],
        ["runs", "update", "RUN"],
        ["runs", "update", "RUN", "--finished-at", "2025-11-22T10:30:00"],
        ["runs", "update", "RUN", "--metadata", "novalue"],
        ["runs", "get", "RUN", "--json", "-q"],
        ["runs", "create", "--owner", "o"],
        ["runs", "create", "--name", "x", "--cost-estimate", "-1"],
    ],
)
def test_usage_errors_exit_2_before_any_request(mcli: Cli, args: list[str]) -> None:
    result = mcli(*args)
    assert result.exit_code == 2, result.output
    assert mcli.endpoints == []


def test_unknown_run_is_one_line_and_exit_1(mcli: Cli) -> None:
    result = mcli("runs", "get", "no-such-run")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "Run not found" in line
    assert "request id" in line


def test_refused_transition_exits_1(mcli: Cli) -> None:
    run_id = mcli.id("runs", "create", "--name", "x", "--owner", "o")
    mcli.ok("runs", "finish", run_id)
    result = mcli("runs", "finish", run_id, "--failed")
    assert result.exit_code == 1
    assert "cannot change to 'failed'" in one_line_error(result)


def test_invalid_value_refused_by_the_sdk_exits_1(mcli: Cli) -> None:
    result = mcli("runs", "create", "--name", "x" * 600, "--owner", "o")
    assert result.exit_code == 1
    assert "name:" in one_line_error(result)


def test_debug_shows_the_exception(mcli: Cli) -> None:
    result = mcli("--debug", "runs", "get", "no-such-run")
    assert type(result.exception).__name__ == "RunNotFound"
