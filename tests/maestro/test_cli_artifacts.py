"""``maestro artifacts`` and ``maestro packs``: references, uploads (strict by default), lists."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.cli import progress
from tests.maestro.evidence import builders
from tests.maestro.test_cli_support import Cli, one_line_error, wire


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


@pytest.fixture
def run_id(mcli: Cli) -> str:
    return mcli.id("runs", "create", "--name", "build", "--owner", "ci")


@pytest.fixture
def sbom_file(tmp_path: Path) -> Path:
    path = tmp_path / "sbom.cdx.json"
    path.write_bytes(builders.dumps(builders.cyclonedx()))
    return path


def test_add_uri_records_a_reference(mcli: Cli, run_id: str) -> None:
    body = mcli.json(
        "artifacts", "add", "--run", run_id, "--kind", "sbom", "--uri", "s3://artifacts/sbom.json",
        "--content-hash", "sha256:abc", "--sbom", "--metadata", "scanner=syft",
    )  # fmt: skip
    assert body["path_or_uri"] == "s3://artifacts/sbom.json"
    assert body["content_hash"] == "sha256:abc"
    assert body["content"] is None
    assert body["metadata_json"] == {
        "sbom_present": True,
        "slsa_provenance_present": False,
        "risk_assessment_present": False,
        "additional_metadata": {"scanner": "syft"},
    }


def test_add_file_uploads_and_verifies(mcli: Cli, run_id: str, sbom_file: Path) -> None:
    body = mcli.json("artifacts", "add", str(sbom_file), "--run", run_id, "--kind", "sbom", "--sbom")
    digest = "sha256:" + hashlib.sha256(sbom_file.read_bytes()).hexdigest()
    assert body["content"]["digest"] == digest
    assert body["content_hash"] == digest
    assert body["path_or_uri"] == str(sbom_file)
    assert body["evidence"]["valid"] is True
    assert body["evidence"]["verified"]["sbom"] is True


def test_upload_is_strict_by_default(mcli: Cli, run_id: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_bytes(b'{"not": "an sbom"}')
    refused = mcli("artifacts", "add", str(junk), "--run", run_id, "--kind", "sbom", "--sbom")
    assert refused.exit_code == 1
    line = one_line_error(refused)
    assert "strict" in line
    assert "nothing was kept" in line
    assert mcli.json("artifacts", "list", "--run", run_id) == []  # a refused upload leaves no artifact
    kept = mcli.json("artifacts", "add", str(junk), "--run", run_id, "--kind", "sbom", "--no-strict")
    assert kept["content"] is not None
    assert kept["evidence"]["verified"]["sbom"] is False


def test_large_upload_shows_progress_on_stderr(
    mcli: Cli, run_id: str, sbom_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "THRESHOLD", 1)
    result = mcli.ok("artifacts", "add", str(sbom_file), "--run", run_id, "--kind", "sbom", "--json")
    assert "kB" in result.stderr
    assert result.stdout.startswith("{")
    quiet = mcli.ok("artifacts", "add", str(sbom_file), "--run", run_id, "--kind", "sbom", "-q")
    assert quiet.stderr == ""


def test_get_and_list(mcli: Cli, run_id: str, sbom_file: Path) -> None:
    uploaded = mcli.id("artifacts", "add", str(sbom_file), "--run", run_id, "--kind", "sbom")
    reference = mcli.id("artifacts", "add", "--run", run_id, "--kind", "other", "--uri", "s3://x")
    assert mcli.json("artifacts", "get", uploaded)["kind"] == "sbom"
    assert "cyclonedx" in mcli.ok("artifacts", "get", uploaded).stdout
    assert sorted(mcli.ok("artifacts", "list", "--run", run_id, "-q").stdout.split()) == sorted(
        [uploaded, reference]
    )
    assert [a["id"] for a in mcli.json("artifacts", "list", "--kind", "other")] == [reference]
    assert reference in mcli.ok("artifacts", "list").stdout


def test_add_needs_a_file_or_a_uri(mcli: Cli, run_id: str, tmp_path: Path) -> None:
    assert mcli("artifacts", "add", "--run", run_id, "--kind", "sbom").exit_code == 2
    assert (
        mcli("artifacts", "add", str(tmp_path / "missing"), "--run", run_id, "--kind", "sbom").exit_code == 2
    )


def test_add_to_unknown_run_exits_1(mcli: Cli) -> None:
    result = mcli("artifacts", "add", "--run", "nope", "--kind", "other", "--uri", "s3://x")
    assert result.exit_code == 1
    one_line_error(result)


def test_packs_create_get_list(mcli: Cli, run_id: str) -> None:
    art = mcli.id("artifacts", "add", "--run", run_id, "--kind", "other", "--uri", "s3://x")
    every = mcli.json("packs", "create", "--run", run_id, "--summary", "all of them")
    assert every["artifact_ids"] == [art]
    chosen = mcli.id(
        "packs", "create", "--run", run_id, "--summary", "chosen", "--artifact", art, "--metadata", "v=1"
    )
    assert mcli.json("packs", "get", chosen)["metadata"] == {"v": 1}
    assert mcli.ok("packs", "list", "--run", run_id, "-q").stdout.split() == [chosen, every["id"]]
    assert "chosen" in mcli.ok("packs", "list").stdout
    assert mcli("packs", "get", "nope").exit_code == 1
    refused = mcli("packs", "create", "--run", run_id, "--summary", "s", "--artifact", "foreign")
    assert refused.exit_code == 1
