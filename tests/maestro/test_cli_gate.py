"""``maestro gate`` and ``maestro manifest``: the exit statuses a pipeline relies on."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.cli import gate, state
from tests.maestro.test_cli_support import Cli, clean_env, one_line_error, wire


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


def compliant_run(mcli: Cli, *, finish: bool = True) -> str:
    run_id = mcli.id("runs", "create", "--name", "release", "--owner", "ci")
    mcli.ok(
        "artifacts",
        "add",
        "--run",
        run_id,
        "--kind",
        "other",
        "--uri",
        "s3://b",
        "--sbom",
        "--slsa",
        "--risk",
    )
    if finish:
        mcli.ok("runs", "finish", run_id)
    return run_id


def test_passing_gate_exits_0(mcli: Cli) -> None:
    run_id = compliant_run(mcli)
    result = mcli.ok("gate", run_id)
    assert "PASSED" in result.stdout
    assert "1 compliant artifact(s)" in result.stdout
    body = mcli.json("gate", run_id)
    assert body["passed"] is True
    assert body["run_id"] == run_id


def test_failing_gate_exits_1_and_lists_each_reason(mcli: Cli) -> None:
    run_id = mcli.id("runs", "create", "--name", "x", "--owner", "o")
    result = mcli("gate", run_id)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "FAILED" in lines[0]
    assert lines[1].strip().startswith("- Run status is 'pending'")
    assert lines[2].strip().startswith("- No artifacts meet compliance requirements")
    as_json = mcli("gate", run_id, "--json")
    assert as_json.exit_code == 1
    assert '"passed":false' in as_json.stdout


def test_quiet_gate_prints_nothing(mcli: Cli) -> None:
    run_id = compliant_run(mcli)
    assert mcli("gate", run_id, "-q").stdout == ""
    pending = mcli.id("runs", "create", "--name", "x", "--owner", "o")
    result = mcli("gate", pending, "-q")
    assert (result.exit_code, result.stdout) == (1, "")


def test_unknown_run_exits_1(mcli: Cli) -> None:
    result = mcli("gate", "no-such-run")
    assert result.exit_code == 1
    assert "Run not found" in one_line_error(result)


def test_unreachable_server_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch, tmp_path)
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(state, "client_factory", state.default_client)
    result = Cli(http=None)("--url", f"http://127.0.0.1:{port}", "gate", "some-run")  # type: ignore[arg-type]
    assert result.exit_code == 2
    line = one_line_error(result)
    assert f"cannot reach Maestro at http://127.0.0.1:{port}" in line
    assert "MAESTRO_URL" in line


def test_wait_polls_until_the_run_ends(
    mcli: Cli, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = compliant_run(mcli, finish=False)
    mcli.ok("runs", "start", run_id)
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:  # another job finishes the run while the gate waits
            assert client.patch(f"/maestro/runs/{run_id}", json={"status": "succeeded"}).status_code == 200

    monkeypatch.setattr(gate, "sleep", pause)
    result = mcli.ok("gate", run_id, "--wait", "60", "--interval", "3")
    assert pauses == [3, 3]
    assert "PASSED" in result.stdout


def test_wait_gives_up_and_fails(mcli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = compliant_run(mcli, finish=False)
    clock = iter(range(0, 1000, 4))
    monkeypatch.setattr(gate, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(gate, "sleep", lambda _: None)
    result = mcli("gate", run_id, "--wait", "10", "--interval", "4")
    assert result.exit_code == 1
    assert "still not finished after 10s" in result.stderr
    assert "Run status is 'pending'" in result.stdout


def test_manifest(mcli: Cli) -> None:
    run_id = compliant_run(mcli)
    mcli.ok("packs", "create", "--run", run_id, "--summary", "release pack")
    body = mcli.json("manifest", run_id)
    assert body["run"]["id"] == run_id
    assert body["compliance_report"]["compliant_artifacts"] == 1
    assert body["disclosure_pack"]["summary"] == "release pack"
    assert body["release_gate"]["passed"] is True
    text = mcli.ok("manifest", run_id).stdout
    assert "release pack" in text
    assert "PASSED" in text
    assert mcli("manifest", "nope").exit_code == 1
