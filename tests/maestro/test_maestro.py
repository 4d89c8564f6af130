"""The seed's behaviour: runs, artifacts, disclosure packs, manifest, release gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.maestro.conftest import ALL_FLAGS

MakeRun = Callable[..., dict[str, Any]]
MakeArtifact = Callable[..., dict[str, Any]]


class TestRuns:
    def test_create_run_returns_server_fields_and_defaults(
        self, client: TestClient, sample_run_data: dict[str, Any]
    ) -> None:
        response = client.post("/maestro/runs", json=sample_run_data)
        assert response.status_code == 201
        run = response.json()
        assert set(run) == {
            "id", "name", "owner", "started_at", "finished_at", "status", "cost_estimate",
            "cost_actual", "related_entity_ids", "related_decision_ids", "metadata", "depends_on",
        }  # fmt: skip
        assert run["status"] == "pending"
        assert run["finished_at"] is None
        assert run["cost_actual"] is None
        assert run["started_at"].endswith("Z")
        assert run["related_entity_ids"] == ["entity-456", "entity-789"]
        assert run["metadata"] == {"project": "counter-intel", "priority": "high"}
        assert response.headers["location"] == f"/maestro/runs/{run['id']}"

    def test_minimal_run_gets_empty_lists_and_dict(self, client: TestClient) -> None:
        run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()
        assert run["related_entity_ids"] == []
        assert run["related_decision_ids"] == []
        assert run["metadata"] == {}
        assert run["depends_on"] == []
        assert run["cost_estimate"] is None

    def test_ids_are_time_ordered_uuids(self, make_run: MakeRun) -> None:
        first, second = make_run()["id"], make_run()["id"]
        assert first[14] == "7"
        assert second[14] == "7"
        assert first < second

    def test_get_run(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        response = client.get(f"/maestro/runs/{run['id']}")
        assert response.status_code == 200
        assert response.json() == run
        assert response.headers["etag"] == '"v1"'

    def test_get_unknown_run_is_404(self, client: TestClient) -> None:
        response = client.get("/maestro/runs/does-not-exist")
        assert response.status_code == 404
        assert response.json() == {"detail": "Run not found", "error": "run_not_found"}

    def test_list_runs_filters_by_owner_and_status(self, client: TestClient, make_run: MakeRun) -> None:
        a = make_run(owner="alice@example.com")
        make_run(owner="bob@example.com")
        c = make_run(owner="alice@example.com")
        client.patch(f"/maestro/runs/{c['id']}", json={"status": "running"})
        by_owner = client.get("/maestro/runs", params={"owner": "alice@example.com"}).json()
        assert [r["id"] for r in by_owner] == [c["id"], a["id"]]
        running = client.get(
            "/maestro/runs", params={"owner": "alice@example.com", "status": "running"}
        ).json()
        assert [r["id"] for r in running] == [c["id"]]
        assert client.get("/maestro/runs", params={"status": "failed"}).json() == []

    def test_list_runs_by_entity_and_decision(self, client: TestClient, make_run: MakeRun) -> None:
        a = make_run(related_entity_ids=["e-1", "e-2"], related_decision_ids=["d-1"])
        b = make_run(related_entity_ids=["e-2"], related_decision_ids=[])
        assert [r["id"] for r in client.get("/maestro/runs?entity_id=e-2").json()] == [b["id"], a["id"]]
        assert [r["id"] for r in client.get("/maestro/runs?entity_id=e-1").json()] == [a["id"]]
        assert [r["id"] for r in client.get("/maestro/runs?decision_id=d-1").json()] == [a["id"]]
        both = client.get("/maestro/runs", params={"entity_id": "e-2", "decision_id": "d-1"}).json()
        assert [r["id"] for r in both] == [a["id"]]
        assert client.get("/maestro/runs?entity_id=nobody").json() == []

    def test_update_changes_links_used_by_filters(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run(related_entity_ids=["old"])
        response = client.patch(f"/maestro/runs/{run['id']}", json={"related_entity_ids": ["new"]})
        assert response.json()["related_entity_ids"] == ["new"]
        assert client.get("/maestro/runs?entity_id=old").json() == []
        assert [r["id"] for r in client.get("/maestro/runs?entity_id=new").json()] == [run["id"]]

    def test_update_status_cost_and_metadata(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        response = client.patch(
            f"/maestro/runs/{run['id']}",
            json={"status": "succeeded", "cost_actual": 12.45, "metadata": {"priority": None, "k": 1}},
        )
        assert response.status_code == 200
        updated = response.json()
        assert updated["status"] == "succeeded"
        assert updated["cost_actual"] == 12.45
        assert updated["metadata"] == {"project": "counter-intel", "k": 1}
        assert updated["finished_at"] is not None
        assert client.get(f"/maestro/runs/{run['id']}").json() == updated

    def test_update_unknown_run_is_404(self, client: TestClient) -> None:
        response = client.patch("/maestro/runs/nope", json={"status": "running"})
        assert response.status_code == 404
        assert response.json()["detail"] == "Run not found"


class TestArtifacts:
    def test_create_artifact(
        self, client: TestClient, make_run: MakeRun, sample_artifact_metadata: dict[str, Any]
    ) -> None:
        run = make_run()
        body = {
            "run_id": run["id"],
            "kind": "sbom",
            "path_or_uri": "s3://artifacts/2025-11-22/sbom-abc123.json",
            "content_hash": "sha256:a1b2c3d4",
            "metadata_json": sample_artifact_metadata,
        }
        response = client.post("/maestro/artifacts", json=body)
        assert response.status_code == 201
        artifact = response.json()
        assert artifact["run_id"] == run["id"]
        assert artifact["kind"] == "sbom"
        assert artifact["content_hash"] == "sha256:a1b2c3d4"
        assert artifact["metadata_json"] == sample_artifact_metadata
        assert artifact["created_at"].endswith("Z")
        assert client.get(f"/maestro/artifacts/{artifact['id']}").json() == artifact

    def test_metadata_json_defaults_to_three_false_flags(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        artifact = client.post(
            "/maestro/artifacts",
            json={"run_id": run["id"], "kind": "build_log", "path_or_uri": "file:///log"},
        ).json()
        assert artifact["content_hash"] is None
        assert artifact["metadata_json"] == {
            "sbom_present": False,
            "slsa_provenance_present": False,
            "risk_assessment_present": False,
            "additional_metadata": {},
        }

    def test_artifact_for_missing_run_is_404_run_not_found(self, client: TestClient) -> None:
        response = client.post(
            "/maestro/artifacts", json={"run_id": "missing", "kind": "sbom", "path_or_uri": "s3://x"}
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "Run not found", "error": "run_not_found"}
        assert client.get("/maestro/artifacts").json() == []

    def test_get_unknown_artifact_is_404(self, client: TestClient) -> None:
        response = client.get("/maestro/artifacts/nope")
        assert response.status_code == 404
        assert response.json() == {"detail": "Artifact not found", "error": "artifact_not_found"}

    def test_list_filters_by_run_and_kind(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        r1, r2 = make_run(), make_run()
        a1 = make_artifact(r1["id"], "sbom")
        a2 = make_artifact(r1["id"], "build_log")
        a3 = make_artifact(r2["id"], "sbom")
        ids = lambda resp: [a["id"] for a in resp.json()]  # noqa: E731
        assert ids(client.get("/maestro/artifacts", params={"run_id": r1["id"]})) == [a2["id"], a1["id"]]
        assert ids(client.get("/maestro/artifacts", params={"kind": "sbom"})) == [a3["id"], a1["id"]]
        assert ids(client.get("/maestro/artifacts", params={"run_id": r1["id"], "kind": "sbom"})) == [
            a1["id"]
        ]
        assert ids(client.get("/maestro/artifacts")) == [a3["id"], a2["id"], a1["id"]]


class TestDisclosurePacks:
    def test_create_with_explicit_artifacts(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run = make_run()
        a1, a2 = make_artifact(run["id"]), make_artifact(run["id"])
        body = {"run_id": run["id"], "summary": "Complete", "artifact_ids": [a2["id"], a1["id"]]}
        response = client.post("/maestro/disclosure-packs", json=body)
        assert response.status_code == 201
        pack = response.json()
        assert pack["artifact_ids"] == [a2["id"], a1["id"]]
        assert pack["summary"] == "Complete"
        assert pack["metadata"] == {}
        assert client.get(f"/maestro/disclosure-packs/{pack['id']}").json() == pack

    def test_omitted_artifact_ids_means_all_of_the_run(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run, other = make_run(), make_run()
        a1, a2 = make_artifact(run["id"]), make_artifact(run["id"])
        make_artifact(other["id"])
        pack = client.post("/maestro/disclosure-packs", json={"run_id": run["id"], "summary": "s"}).json()
        assert pack["artifact_ids"] == [a1["id"], a2["id"]]

    def test_empty_list_is_kept_empty(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run = make_run()
        make_artifact(run["id"])
        body = {"run_id": run["id"], "summary": "s", "artifact_ids": []}
        assert client.post("/maestro/disclosure-packs", json=body).json()["artifact_ids"] == []

    def test_unknown_and_foreign_artifacts_are_named(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run, other = make_run(), make_run()
        mine = make_artifact(run["id"])
        foreign = make_artifact(other["id"])
        body = {"run_id": run["id"], "summary": "s", "artifact_ids": [mine["id"], "art-404", foreign["id"]]}
        response = client.post("/maestro/disclosure-packs", json=body)
        assert response.status_code == 422
        error = response.json()
        assert error["error"] == "validation_failed"
        assert "art-404" in error["detail"]
        assert foreign["id"] in error["detail"]
        assert mine["id"] not in error["detail"]
        assert [e["field"] for e in error["errors"]] == ["artifact_ids[1]", "artifact_ids[2]"]
        assert client.get("/maestro/disclosure-packs").json() == []

    def test_pack_for_missing_run_is_404(self, client: TestClient) -> None:
        response = client.post("/maestro/disclosure-packs", json={"run_id": "nope", "summary": "s"})
        assert response.status_code == 404
        assert response.json()["detail"] == "Run not found"

    def test_get_unknown_pack_is_404(self, client: TestClient) -> None:
        response = client.get("/maestro/disclosure-packs/nope")
        assert response.status_code == 404
        assert response.json() == {
            "detail": "Disclosure pack not found",
            "error": "disclosure_pack_not_found",
        }

    def test_list_packs_by_run(self, client: TestClient, make_run: MakeRun) -> None:
        r1, r2 = make_run(), make_run()
        p1 = client.post("/maestro/disclosure-packs", json={"run_id": r1["id"], "summary": "one"}).json()
        p2 = client.post("/maestro/disclosure-packs", json={"run_id": r2["id"], "summary": "two"}).json()
        assert client.get("/maestro/disclosure-packs").json() == [p2, p1]
        assert client.get("/maestro/disclosure-packs", params={"run_id": r1["id"]}).json() == [p1]


class TestManifest:
    def test_manifest_without_packs(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run = make_run()
        artifact = make_artifact(run["id"], "sbom", sbom_present=True)
        manifest = client.get(f"/maestro/runs/{run['id']}/manifest").json()
        assert manifest["run"] == run
        assert manifest["artifacts"] == [artifact]
        assert manifest["disclosure_pack"] is None
        assert manifest["disclosure_packs"] == []
        report = manifest["compliance_report"]
        assert report["total_artifacts"] == 1
        assert report["compliant_artifacts"] == 0
        assert report["artifacts_with_sbom"] == 1
        assert report["artifacts"] == [
            {
                "artifact_id": artifact["id"],
                "kind": "sbom",
                "sbom_present": True,
                "slsa_provenance_present": False,
                "risk_assessment_present": False,
                "compliant": False,
                "verified": {"sbom": False, "slsa_provenance": False, "risk_assessment": False},
                "content_uploaded": False,
                "warnings": [],
            }
        ]
        assert manifest["release_gate"]["passed"] is False

    def test_manifest_with_packs_shows_latest(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run = make_run()
        make_artifact(run["id"], **ALL_FLAGS)
        first = client.post("/maestro/disclosure-packs", json={"run_id": run["id"], "summary": "1"}).json()
        second = client.post("/maestro/disclosure-packs", json={"run_id": run["id"], "summary": "2"}).json()
        manifest = client.get(f"/maestro/runs/{run['id']}/manifest").json()
        assert manifest["disclosure_packs"] == [first, second]
        assert manifest["disclosure_pack"] == second
        assert manifest["compliance_report"]["compliant_artifacts"] == 1

    def test_manifest_of_unknown_run_is_404(self, client: TestClient) -> None:
        assert client.get("/maestro/runs/nope/manifest").json()["detail"] == "Run not found"


class TestReleaseGate:
    def test_release_gate_passes(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run = make_run()
        a1 = make_artifact(run["id"], **ALL_FLAGS)
        make_artifact(run["id"], sbom_present=True)
        a3 = make_artifact(run["id"], **ALL_FLAGS)
        client.patch(f"/maestro/runs/{run['id']}", json={"status": "succeeded"})
        result = client.get(f"/maestro/runs/{run['id']}/release-gate").json()
        seed_fields = {key: result.pop(key) for key in ("run_id", "passed", "message", "details")}
        assert set(result) == {"policy", "results", "evaluated_at", "input_digest"}  # what issue 10 adds
        assert seed_fields == {
            "run_id": run["id"],
            "passed": True,
            "message": "Release gate passed: 2 compliant artifact(s) found",
            "details": {
                "total_artifacts": 3,
                "compliant_artifacts": 2,
                "compliant_artifact_ids": [a1["id"], a3["id"]],
                "reasons": [],
            },
        }

    def test_release_gate_fails_when_run_not_succeeded(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run = make_run()
        make_artifact(run["id"], **ALL_FLAGS)
        client.patch(f"/maestro/runs/{run['id']}", json={"status": "running"})
        result = client.get(f"/maestro/runs/{run['id']}/release-gate").json()
        assert result["passed"] is False
        assert result["message"] == "Run status is 'running', but the release gate requires 'succeeded'"
        assert result["details"]["compliant_artifacts"] == 1

    def test_release_gate_fails_without_compliant_artifact(
        self, client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
    ) -> None:
        run = make_run()
        make_artifact(run["id"], "sbom", sbom_present=True)
        make_artifact(run["id"], "slsa_provenance", slsa_provenance_present=True)
        make_artifact(run["id"], "risk_assessment", risk_assessment_present=True)
        client.patch(f"/maestro/runs/{run['id']}", json={"status": "succeeded"})
        result = client.get(f"/maestro/runs/{run['id']}/release-gate").json()
        assert result["passed"] is False
        assert result["message"].startswith("No artifacts meet compliance requirements")
        assert "all set to true" in result["message"]
        assert result["details"] == {
            "total_artifacts": 3,
            "compliant_artifacts": 0,
            "compliant_artifact_ids": [],
            "reasons": [result["message"]],
        }

    def test_release_gate_reports_both_reasons(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        result = client.get(f"/maestro/runs/{run['id']}/release-gate").json()
        assert result["passed"] is False
        status_reason, artifact_reason = result["details"]["reasons"]
        assert status_reason == "Run status is 'pending', but the release gate requires 'succeeded'"
        assert artifact_reason.startswith("No artifacts meet compliance requirements")
        assert artifact_reason.endswith("(0 artifact(s) checked)")
        assert result["message"] == f"{status_reason}; {artifact_reason}"  # the seed's message, derived

    def test_release_gate_unknown_run_is_404(self, client: TestClient) -> None:
        response = client.get("/maestro/runs/nope/release-gate")
        assert response.status_code == 404
        assert response.json()["detail"] == "Run not found"
