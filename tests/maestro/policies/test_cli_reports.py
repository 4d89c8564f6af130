"""``maestro gate --format junit|markdown``, ``maestro policies dry-run`` and their SDK
calls, CLI -> SDK -> API -> database in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from maestro.client import MaestroClient
from maestro.errors import PolicyNotFound, ValidationFailed
from maestro.policies import render
from tests.maestro.test_cli_gate import compliant_run
from tests.maestro.test_cli_support import Cli, wire


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


@pytest.fixture
def maestro(client: TestClient) -> Iterator[MaestroClient]:
    with MaestroClient(http=client, backoff=0) as sdk:
        yield sdk


def _timeless(xml: str) -> list[str]:
    """The report without the instant judged (and the input digest, which covers it)."""
    moments = ("evaluated_at", "timestamp=", "input_digest")
    return [line for line in xml.splitlines() if not any(m in line for m in moments)]


def test_gate_format_junit_is_the_servers_rendering_and_keeps_the_exit_status(
    mcli: Cli, client: TestClient
) -> None:
    run_id = compliant_run(mcli)
    passing = mcli("gate", run_id, "--format", "junit")
    assert passing.exit_code == 0
    root = etree.fromstring(passing.stdout.encode())
    assert [c.get("name") for c in root.iter("testcase")] == ["run-succeeded", "declared-compliant-artifact"]
    failing = mcli("gate", run_id, "--format", "junit", "--policy", "builtin:verified-evidence")
    assert failing.exit_code == 1
    served = client.get(
        f"/maestro/runs/{run_id}/release-gate",
        params={"policy": "builtin:verified-evidence"},
        headers={"Accept": "application/xml"},
    )
    assert _timeless(failing.stdout) == _timeless(served.text)  # one renderer


def test_gate_format_markdown(mcli: Cli) -> None:
    pending = mcli.id("runs", "create", "--name", "x", "--owner", "o")
    result = mcli("gate", pending, "--format", "markdown")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"## ❌ Release gate failed for run `{pending}`"
    assert any(
        line.startswith("| run-succeeded | ❌ failed | blocking | Run status is 'pending'") for line in lines
    )


def test_gate_default_output_is_unchanged_and_json_conflicts_with_a_report(mcli: Cli) -> None:
    run_id = compliant_run(mcli)
    human = mcli("gate", run_id)
    assert human.stdout.splitlines()[0].startswith("PASSED")
    clash = mcli("gate", run_id, "--json", "--format", "junit")
    assert clash.exit_code == 2
    assert "--json" in clash.stderr
    assert mcli("gate", run_id, "--format", "junit", "-q").stdout == ""
    assert mcli("gate", run_id, "--format", "yaml").exit_code == 2


def test_sdk_release_gate_report(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="o")
    xml = maestro.release_gate_report(run.id, "junit")
    assert etree.fromstring(xml.encode()).tag == "testsuites"
    md = maestro.release_gate_report(run.id, "markdown", policy="builtin:verified-evidence")
    assert "| sbom-verified |" in md
    with pytest.raises(ValueError, match="format must be one of"):
        maestro.release_gate_report(run.id, "yaml")  # type: ignore[arg-type]
    assert render.negotiate("application/xml") is render.Rendering.JUNIT


def test_sdk_dry_run(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="team-a")
    maestro.create_artifact(
        run_id=run.id,
        kind="other",
        path_or_uri="b",
        metadata_json={
            "sbom_present": True,
            "slsa_provenance_present": True,
            "risk_assessment_present": True,
        },
    )
    maestro.finish_run(run.id)
    maestro.create_run(name="other", owner="team-b")
    policy = maestro.create_policy(name="strict", kind="builtin", builtin="verified-evidence")
    result = maestro.dry_run_policy(policy.id, owner="team-a")
    assert (result.considered, result.changed_total) == (1, 1)
    assert result.changed[0].run_id == run.id
    assert result.changed[0].candidate.passed is False
    assert maestro.dry_run_policy(policy.id, limit=1).truncated is True
    with pytest.raises(PolicyNotFound):
        maestro.dry_run_policy("nope")
    with pytest.raises(ValidationFailed):
        maestro.dry_run_policy(policy.id, limit=0)
    with pytest.raises(TypeError, match="unknown run filter"):
        maestro.dry_run_policy(policy.id, ownr="x")


def test_cli_policies_dry_run(mcli: Cli) -> None:
    run_id = compliant_run(mcli)
    mcli.ok("runs", "create", "--name", "y", "--owner", "someone-else")
    human = mcli("policies", "dry-run", "builtin:verified-evidence", "--owner", "ci")
    assert human.exit_code == 0, human.stderr
    shown = " ".join(human.stdout.split())
    assert "verified-evidence v1: 1 of 1 run(s) would change verdict" in shown
    assert run_id in shown
    assert "sbom-verified: - -> failed" in shown
    body = json.loads(
        mcli.ok("policies", "dry-run", "builtin:verified-evidence", "--json", "--limit", "1").stdout
    )
    assert (body["considered"], body["truncated"]) == (1, True)
    assert body["next_cursor"]
    missing = mcli("policies", "dry-run", "nope")
    assert missing.exit_code == 1
    assert "Policy not found" in missing.stderr
