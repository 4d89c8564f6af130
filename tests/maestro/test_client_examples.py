"""The seed specification's three "Usage Examples", written with the SDK alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.client import MaestroClient
from maestro.models import RunStatus
from tests.maestro.evidence import builders

STARTED = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
FINISHED = datetime(2025, 11, 22, 10, 30, tzinfo=UTC)
ALL_FLAGS = {"sbom_present": True, "slsa_provenance_present": True, "risk_assessment_present": True}


@pytest.fixture
def maestro(client: TestClient) -> Iterator[MaestroClient]:
    with MaestroClient(http=client) as sdk:
        yield sdk


def only(flag: str) -> dict[str, bool]:
    return {name: name == flag for name in ALL_FLAGS}


def test_example_1_create_a_run_and_attach_artifacts(maestro: MaestroClient) -> None:
    run = maestro.create_run(
        name="Entity network analysis",
        owner="analyst@example.com",
        cost_estimate=10.0,
        related_entity_ids=["entity-123", "entity-456"],
        started_at=STARTED,  # the example finishes in 2025: a backfill needs its real start
    )
    sbom = maestro.create_artifact(
        run_id=run.id,
        kind="sbom",
        path_or_uri="s3://artifacts/sbom.json",
        content_hash="sha256:abc...",
        metadata_json=only("sbom_present"),
    )
    slsa = maestro.create_artifact(
        run_id=run.id,
        kind="slsa_provenance",
        path_or_uri="s3://artifacts/slsa.json",
        metadata_json=only("slsa_provenance_present"),
    )
    risk = maestro.create_artifact(
        run_id=run.id,
        kind="risk_assessment",
        path_or_uri="s3://artifacts/risk.json",
        metadata_json=only("risk_assessment_present"),
    )
    finished = maestro.finish_run(run.id, cost_actual=8.50, finished_at=FINISHED)
    assert finished.status == RunStatus.SUCCEEDED
    assert finished.finished_at == FINISHED
    assert finished.cost_actual == 8.5
    assert sbom.content_hash == "sha256:abc..."
    assert [a.id for a in maestro.list_artifacts(run_id=run.id)] == [risk.id, slsa.id, sbom.id]


def test_example_2_disclosure_pack_and_failing_gate(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="Entity network analysis", owner="analyst@example.com")
    artifacts = [
        maestro.create_artifact(
            run_id=run.id, kind=kind, path_or_uri=f"s3://artifacts/{kind}.json", metadata_json=only(flag)
        )
        for kind, flag in (
            ("sbom", "sbom_present"),
            ("slsa_provenance", "slsa_provenance_present"),
            ("risk_assessment", "risk_assessment_present"),
        )
    ]
    maestro.finish_run(run.id)
    pack = maestro.create_pack(
        run_id=run.id,
        summary="Entity network analysis completed with full compliance artifacts",
        artifact_ids=[a.id for a in artifacts],
    )
    manifest = maestro.manifest(run.id)
    assert manifest.run.id == run.id
    assert len(manifest.artifacts) == 3
    assert manifest.disclosure_pack == pack
    assert manifest.compliance_report.compliant_artifacts == 0
    gate = maestro.release_gate(run.id)
    assert gate.passed is False  # no single artifact carries all three flags
    assert gate.message.startswith("No artifacts meet compliance requirements")


def test_example_3_complete_compliant_run(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="Compliant run", owner="user@example.com")
    maestro.create_artifact(
        run_id=run.id, kind="other", path_or_uri="s3://artifacts/bundle.tgz", metadata_json=ALL_FLAGS
    )
    maestro.finish_run(run.id)
    gate = maestro.release_gate(run.id)
    assert gate.passed is True
    assert gate.message == "Release gate passed: 1 compliant artifact(s) found"


SLSA = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "app.whl", "digest": {"sha256": "b" * 64}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {
        "buildDefinition": {
            "buildType": "https://example.com/build/v1",
            "externalParameters": {"ref": "main"},
        },
        "runDetails": {"builder": {"id": "https://ci.example.com/builder"}},
    },
}


def test_docs_sdk_notebook_example(maestro: MaestroClient, tmp_path: Path) -> None:
    """The walkthrough in docs/sdk.md, step by step."""
    sbom_file = tmp_path / "sbom.cdx.json"
    sbom_file.write_bytes(builders.dumps(builders.cyclonedx(3)))
    provenance_file = tmp_path / "provenance.intoto.json"
    provenance_file.write_bytes(builders.dumps(SLSA))
    risk_file = tmp_path / "risk.json"
    risk_file.write_bytes(builders.dumps(builders.risk()))
    bundle_file = tmp_path / "evidence.zip"
    bundle_file.write_bytes(
        builders.zip_of({p.name: p.read_bytes() for p in (sbom_file, provenance_file, risk_file)})
    )

    run = maestro.create_run(name="release 2.0", owner="ci@example.com", cost_estimate=10.0)
    maestro.start_run(run.id)
    sbom = maestro.attach(run.id, sbom_file, kind="sbom", sbom_present=True)
    provenance = maestro.attach(run.id, provenance_file, kind="slsa_provenance", slsa_provenance_present=True)
    risk = maestro.attach(run.id, risk_file, kind="risk_assessment", risk_assessment_present=True)
    verified = [a.evidence.verified if a.evidence else None for a in (sbom, provenance, risk)]
    assert [(v.sbom, v.slsa_provenance, v.risk_assessment) if v else None for v in verified] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    assert maestro.release_gate(run.id).passed is False  # running, and no artifact declares all three

    bundle = maestro.attach(run.id, bundle_file, kind="other", **ALL_FLAGS)
    assert bundle.evidence is not None
    assert bundle.evidence.verified.model_dump() == {
        "sbom": True,
        "slsa_provenance": True,
        "risk_assessment": True,
    }
    maestro.finish_run(run.id, cost_actual=8.5)
    gate = maestro.release_gate(run.id)
    assert gate.passed is True
    assert gate.details.compliant_artifact_ids == [bundle.id]
    report = maestro.manifest(run.id).compliance_report
    assert report.total_artifacts == 4
    assert [a.verified.model_dump() for a in report.artifacts][-1] == bundle.evidence.verified.model_dump()
