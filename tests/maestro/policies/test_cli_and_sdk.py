"""``maestro gate`` and the SDK show each rule's result and can name a policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.client import MaestroClient
from maestro.errors import PolicyNotFound, ValidationFailed
from tests.maestro.test_cli_gate import compliant_run
from tests.maestro.test_cli_support import Cli, wire


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


@pytest.fixture
def maestro(client: TestClient) -> Iterator[MaestroClient]:
    with MaestroClient(http=client, backoff=0) as sdk:
        yield sdk


def test_gate_json_carries_results_whole(mcli: Cli) -> None:
    run_id = compliant_run(mcli)
    for flags in (("--format", "json"), ("--json",)):
        result = mcli("gate", run_id, *flags)
        assert result.exit_code == 0
        body = json.loads(result.stdout)
        assert body["policy"]["id"] == "builtin:seed-default"
        assert [r["rule"] for r in body["results"]] == ["run-succeeded", "declared-compliant-artifact"]


def test_gate_under_another_policy_lists_each_rule(mcli: Cli) -> None:
    run_id = compliant_run(mcli)
    result = mcli("gate", run_id, "--policy", "builtin:verified-evidence")
    assert result.exit_code == 1
    shown = " ".join(result.stdout.split())
    assert "FAILED release gate for run" in shown
    assert "under verified-evidence v1" in shown
    assert "failed sbom-verified (blocking): No SBOM whose uploaded content Maestro parsed" in shown
    assert "passed run-succeeded (blocking)" in shown
    assert mcli("gate", run_id, "--as-of", "2026-13-01").exit_code == 2


def test_sdk_policies_and_gate(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="team-a")
    maestro.finish_run(run.id)
    policy = maestro.create_policy(name="strict", kind="builtin", builtin="verified-evidence")
    again = maestro.create_policy(name="strict", kind="builtin", builtin="verified-evidence")
    assert again == policy
    assert [p.id for p in maestro.list_policies()] == [policy.id]
    assert maestro.get_policy(policy.id) == policy
    assert [v.version for v in maestro.policy_versions(policy.id)] == [1]
    assert maestro.release_gate(run.id).policy.name == "seed-default"  # type: ignore[union-attr]
    assignment = maestro.assign_policy(policy_id=policy.id, owner="team-a")
    assert [a.id for a in maestro.list_policy_assignments()] == [assignment.id]
    assert maestro.get_policy_assignment(assignment.id) == assignment
    gate = maestro.release_gate(run.id)
    assert gate.policy is not None
    assert (gate.policy.id, gate.passed) == (policy.id, False)
    assert maestro.release_gate(run.id, policy="builtin:seed-default", as_of=date(2030, 1, 1)).passed is False
    with pytest.raises(PolicyNotFound):
        maestro.release_gate(run.id, policy="nope")
    with pytest.raises(ValidationFailed):
        maestro.create_policy(name="x", kind="builtin", builtin="nope")
    maestro.delete_policy_assignment(assignment.id)
    assert list(maestro.list_policy_assignments()) == []


def test_policies_cli(mcli: Cli, tmp_path: Path) -> None:
    policy_id = mcli.id(
        "policies", "create", "release", "--builtin", "verified-evidence",
        "--rule", "dsse-trusted-signature:advisory@2027-01-15", "--default-severity", "blocking",
    )  # fmt: skip
    shown = json.loads(mcli.ok("policies", "get", policy_id, "--json").stdout)
    assert shown["rules"] == [
        {"rule": "dsse-trusted-signature", "severity": "advisory", "effective_on": "2027-01-15"}
    ]
    assert mcli.id("policies", "create", "release", "--builtin", "seed-default") == policy_id
    versions = json.loads(mcli.ok("policies", "versions", policy_id, "--json").stdout)
    assert [v["version"] for v in versions] == [1, 2]
    assert policy_id in mcli.ok("policies", "list").stdout
    assignment = mcli.id(
        "policies", "assign", policy_id, "--match", "project=counter-intel", "--version", "1"
    )
    listed = json.loads(mcli.ok("policies", "assignments", "--json").stdout)
    assert [(a["id"], a["metadata"], a["policy_version"]) for a in listed] == [
        (assignment, {"project": "counter-intel"}, 1)
    ]
    run_id = mcli.id("runs", "create", "--name", "n", "--owner", "o", "--metadata", "project=counter-intel")
    gate = json.loads(mcli("gate", run_id, "--format", "json").stdout)
    assert (gate["policy"]["id"], gate["policy"]["version"]) == (policy_id, 1)
    assert "removed" in mcli.ok("policies", "unassign", assignment).stdout
    unknown = mcli("policies", "create", "x", "--builtin", "nope")
    assert unknown.exit_code == 1
    assert "unknown built-in policy 'nope'" in unknown.stderr
    assert mcli("policies", "create", "x").exit_code == 2
