"""The seed's three walkthrough examples, step by step, as a user would run them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def flags(sbom: bool, slsa: bool, risk: bool) -> dict[str, bool]:
    return {"sbom_present": sbom, "slsa_provenance_present": slsa, "risk_assessment_present": risk}


def example_1(client: TestClient) -> tuple[str, list[str]]:
    """Create a run and attach artifacts, then mark it succeeded.

    The seed finishes the run at 2025-11-22T10:30:00Z. Run today, that is before
    the server-stamped start, which Maestro refuses (see
    test_seed_finish_before_start_is_explained); recording a past run means giving
    its real ``started_at``, as here.
    """
    response = client.post(
        "/maestro/runs",
        json={
            "name": "Entity network analysis",
            "owner": "analyst@example.com",
            "cost_estimate": 10.0,
            "related_entity_ids": ["entity-123", "entity-456"],
            "started_at": "2025-11-22T09:00:00Z",
        },
    )
    assert response.status_code == 201
    run_id = response.json()["id"]
    artifacts: list[dict[str, Any]] = [
        {
            "run_id": run_id,
            "kind": "sbom",
            "path_or_uri": "s3://artifacts/sbom.json",
            "content_hash": "sha256:abc...",
            "metadata_json": flags(True, False, False),
        },
        {"run_id": run_id, "kind": "slsa_provenance", "path_or_uri": "s3://artifacts/slsa.json",
         "metadata_json": flags(False, True, False)},
        {"run_id": run_id, "kind": "risk_assessment", "path_or_uri": "s3://artifacts/risk.json",
         "metadata_json": flags(False, False, True)},
    ]  # fmt: skip
    ids = []
    for body in artifacts:
        created = client.post("/maestro/artifacts", json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    response = client.patch(
        f"/maestro/runs/{run_id}",
        json={"status": "succeeded", "cost_actual": 8.50, "finished_at": "2025-11-22T10:30:00Z"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["finished_at"] == "2025-11-22T10:30:00Z"
    assert response.json()["status"] == "succeeded"
    assert response.json()["cost_actual"] == 8.5
    return run_id, ids


def test_example_1_create_run_and_attach_artifacts(client: TestClient) -> None:
    run_id, ids = example_1(client)
    assert [a["id"] for a in client.get(f"/maestro/artifacts?run_id={run_id}&order=asc").json()] == ids
    assert [r["id"] for r in client.get("/maestro/runs?entity_id=entity-123").json()] == [run_id]


def test_example_2_disclosure_pack_manifest_and_failing_gate(client: TestClient) -> None:
    run_id, ids = example_1(client)
    response = client.post(
        "/maestro/disclosure-packs",
        json={
            "run_id": run_id,
            "summary": "Entity network analysis completed with full compliance artifacts",
            "artifact_ids": ids,
        },
    )
    assert response.status_code == 201
    pack = response.json()
    manifest = client.get(f"/maestro/runs/{run_id}/manifest").json()
    assert manifest["run"]["id"] == run_id
    assert [a["id"] for a in manifest["artifacts"]] == ids
    assert manifest["disclosure_pack"] == pack
    assert manifest["compliance_report"]["compliant_artifacts"] == 0
    gate = client.get(f"/maestro/runs/{run_id}/release-gate").json()
    assert gate["passed"] is False
    assert gate["message"].startswith("No artifacts meet compliance")


def test_example_3_complete_compliant_run(client: TestClient) -> None:
    run_id = client.post("/maestro/runs", json={"name": "Compliant run", "owner": "user@example.com"}).json()[
        "id"
    ]
    created = client.post(
        "/maestro/artifacts",
        json={
            "run_id": run_id,
            "kind": "other",
            "path_or_uri": "s3://artifacts/bundle.tgz",
            "metadata_json": flags(True, True, True),
        },
    )
    assert created.status_code == 201
    assert client.patch(f"/maestro/runs/{run_id}", json={"status": "succeeded"}).status_code == 200
    gate = client.get(f"/maestro/runs/{run_id}/release-gate").json()
    assert gate["passed"] is True
    assert gate["message"] == "Release gate passed: 1 compliant artifact(s) found"


def test_troubleshooting_pack_without_content_type(client: TestClient) -> None:
    """The seed's troubleshooting curl sends JSON with -d and no Content-Type header."""
    run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
    response = client.post(
        "/maestro/disclosure-packs",
        content=f'{{"run_id": "{run_id}", "summary": "s", "artifact_ids": []}}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201


def test_seed_finish_before_start_is_explained(client: TestClient) -> None:
    """The seed's step 5 verbatim on a run started now: a finish before the start is a lie."""
    run_id = client.post("/maestro/runs", json={"name": "Entity network analysis", "owner": "a"}).json()["id"]
    response = client.patch(
        f"/maestro/runs/{run_id}",
        json={"status": "succeeded", "cost_actual": 8.50, "finished_at": "2025-11-22T10:30:00Z"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "finished_at"
    assert "must not be before started_at" in response.json()["detail"]
    assert client.get(f"/maestro/runs/{run_id}").json()["status"] == "pending"
