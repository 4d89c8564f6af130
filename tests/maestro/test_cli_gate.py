"""``maestro gate`` and ``maestro manifest``: the exit statuses a pipeline relies on."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from maestro.cli import gate, state
from maestro.models import ReleaseGateDetails, ReleaseGateResult
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


def test_unknown_run_is_no_verdict_exit_2(mcli: Cli) -> None:
    """A mistyped id is not a release that failed its gate: 2, not 1."""
    result = mcli("gate", "no-such-run")
    assert result.exit_code == 2
    assert result.stdout == ""
    line = one_line_error(result)
    assert "Run not found" in line
    assert "check the id" in line
    assert mcli("gate", "no-such-run", "--wait", "30").exit_code == 2  # the poll's own 404 too
    assert mcli("gate", "no-such-run", "--json").exit_code == 2


def test_other_commands_keep_exit_1_for_an_unknown_id(mcli: Cli) -> None:
    assert mcli("runs", "get", "no-such-run").exit_code == 1


@pytest.mark.parametrize(
    "args",
    [["gate"], ["gate", "r", "--json", "-q"], ["gate", "r", "--interval", "0"], ["gate", "r", "--nope"]],
    ids=["no-run", "json-and-quiet", "bad-interval", "unknown-option"],
)
def test_usage_errors_exit_2(mcli: Cli, args: list[str]) -> None:
    result = mcli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""


class Refusing(BaseHTTPRequestHandler):
    """A proxy in front of Maestro that wants credentials (401) or refuses them (403)."""

    def do_GET(self) -> None:
        status = 401 if "no-token" in self.path else 403
        body = json.dumps({"detail": "token refused", "error": "unauthorized"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def refusing_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("run_id", ["no-token", "bad-token"])
def test_refused_token_is_no_verdict_exit_2(
    refusing_url: str, run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setattr(state, "client_factory", state.default_client)
    result = Cli(http=None)("--url", refusing_url, "gate", run_id)  # type: ignore[arg-type]
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "token refused" in line
    assert "MAESTRO_TOKEN" in line


def test_failing_gate_prints_the_servers_reasons(mcli: Cli) -> None:
    run_id = mcli.id("runs", "create", "--name", "x", "--owner", "o")
    as_json = mcli("gate", run_id, "--json")
    assert as_json.exit_code == 1
    reasons = json.loads(as_json.stdout)["details"]["reasons"]
    assert len(reasons) == 2
    shown = " ".join(mcli("gate", run_id).stdout.split())  # rich may fold a long reason
    for reason in reasons:
        assert f"- {reason}" in shown


def test_a_reason_containing_a_semicolon_stays_one_reason() -> None:
    """The list is the source: nothing is split out of ``message`` any more."""
    reason = "policy 'sbom-fresh' failed; SBOM is older than 30 days"
    result = ReleaseGateResult(
        run_id="r",
        passed=False,
        message=reason,
        details=ReleaseGateDetails(
            total_artifacts=0, compliant_artifacts=0, compliant_artifact_ids=[], reasons=[reason]
        ),
    )
    console = Console(width=200, record=True)
    console.print(gate.verdict_view(result))
    assert console.export_text().splitlines()[1:] == [f"  - {reason}"]


def test_manifest_says_when_it_shows_only_the_first_page(mcli: Cli, client: TestClient) -> None:
    run_id = mcli.id("runs", "create", "--name", "big", "--owner", "ci")
    for n in range(101):
        made = client.post(
            "/maestro/artifacts", json={"run_id": run_id, "kind": "other", "path_or_uri": f"s3://b/{n}"}
        )
        assert made.status_code == 201
    out = " ".join(mcli.ok("manifest", run_id).stdout.split())
    assert "Showing 100 of 101 artifacts" in out
    assert f"maestro artifacts list --run {run_id} --limit 101" in out
    small = mcli.id("runs", "create", "--name", "small", "--owner", "ci")
    assert "Showing" not in mcli.ok("manifest", small).stdout
