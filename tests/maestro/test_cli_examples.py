"""The specification's three usage examples, done with ``maestro`` commands alone.

These are the README's "with the maestro command" walkthrough; each step is the
command a user would type, and ids pass between steps the way ``$(... -q)``
passes them in a shell.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.maestro.test_cli_support import Cli, wire


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


def example_1(mcli: Cli) -> tuple[str, list[str]]:
    """Create a run, attach SBOM, SLSA provenance and risk assessment, mark it succeeded."""
    run = mcli.id(
        "runs", "create", "--name", "Entity network analysis", "--owner", "analyst@example.com",
        "--cost-estimate", "10.0", "--entity", "entity-123", "--entity", "entity-456",
    )  # fmt: skip
    sbom = mcli.id(
        "artifacts", "add", "--run", run, "--kind", "sbom", "--uri", "s3://artifacts/sbom.json",
        "--content-hash", "sha256:abc...", "--sbom",
    )  # fmt: skip
    slsa = mcli.id(
        "artifacts",
        "add",
        "--run",
        run,
        "--kind",
        "slsa_provenance",
        "--uri",
        "s3://artifacts/slsa.json",
        "--slsa",
    )
    risk = mcli.id(
        "artifacts",
        "add",
        "--run",
        run,
        "--kind",
        "risk_assessment",
        "--uri",
        "s3://artifacts/risk.json",
        "--risk",
    )
    finished = mcli.json("runs", "finish", run, "--cost-actual", "8.50")
    assert (finished["status"], finished["cost_actual"]) == ("succeeded", 8.5)
    assert finished["related_entity_ids"] == ["entity-123", "entity-456"]
    return run, [sbom, slsa, risk]


def test_example_1_create_a_run_and_attach_artifacts(mcli: Cli) -> None:
    run, artifacts = example_1(mcli)
    listed = mcli.json("artifacts", "list", "--run", run)
    assert sorted(a["id"] for a in listed) == sorted(artifacts)
    assert {a["kind"] for a in listed} == {"sbom", "slsa_provenance", "risk_assessment"}


def test_example_2_disclosure_pack_and_failing_gate(mcli: Cli) -> None:
    run, artifacts = example_1(mcli)
    pack_args = [arg for a in artifacts for arg in ("--artifact", a)]
    pack = mcli.id(
        "packs", "create", "--run", run,
        "--summary", "Entity network analysis completed with full compliance artifacts", *pack_args,
    )  # fmt: skip
    manifest = mcli.json("manifest", run)
    assert manifest["disclosure_pack"]["id"] == pack
    assert manifest["disclosure_pack"]["artifact_ids"] == artifacts
    assert manifest["compliance_report"]["compliant_artifacts"] == 0
    gate = mcli("gate", run)
    assert gate.exit_code == 1
    assert "No artifacts meet compliance requirements" in gate.stdout


def test_example_3_complete_compliant_run(mcli: Cli) -> None:
    run = mcli.id("runs", "create", "--name", "Compliant run", "--owner", "user@example.com")
    mcli.ok(
        "artifacts", "add", "--run", run, "--kind", "other", "--uri", "s3://artifacts/bundle.tgz",
        "--sbom", "--slsa", "--risk",
    )  # fmt: skip
    mcli.ok("runs", "update", run, "--status", "succeeded")
    gate = mcli.ok("gate", run)
    assert "Release gate passed: 1 compliant artifact(s) found" in gate.stdout
