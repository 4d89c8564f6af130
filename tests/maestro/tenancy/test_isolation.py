"""Tenant isolation end to end: another tenant's object is absent (404 or an empty list),
never revealed; every change and every denial lands in its own tenant's audit log."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import bearer, issue

RUN = {"name": "nightly", "owner": "ci"}


@pytest.fixture
def tenants(client: TestClient, maestro_store: Database) -> dict[str, Any]:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    run = client.post("/maestro/runs", json=RUN, headers=alpha).json()
    artifact = client.post(
        "/maestro/artifacts",
        json={"run_id": run["id"], "kind": "build_log", "path_or_uri": "file:///log"},
        headers=alpha,
    ).json()
    pack = client.post(
        "/maestro/disclosure-packs", json={"run_id": run["id"], "summary": "s"}, headers=alpha
    ).json()
    return {"alpha": alpha, "beta": beta, "run": run, "artifact": artifact, "pack": pack}


def test_another_tenants_objects_are_not_found(client: TestClient, tenants: dict[str, Any]) -> None:
    beta, run_id = tenants["beta"], tenants["run"]["id"]
    for path in (
        f"/maestro/runs/{run_id}",
        f"/maestro/runs/{run_id}/manifest",
        f"/maestro/runs/{run_id}/release-gate",
        f"/maestro/runs/{run_id}/sbom-diff/{run_id}",
        f"/maestro/artifacts/{tenants['artifact']['id']}",
        f"/maestro/disclosure-packs/{tenants['pack']['id']}",
    ):
        assert client.get(path, headers=beta).status_code == 404, path
        assert client.get(path, headers=tenants["alpha"]).status_code == 200, path
    patched = client.patch(f"/maestro/runs/{run_id}", json={"status": "running"}, headers=beta)
    assert patched.status_code == 404
    assert client.get(f"/maestro/runs/{run_id}", headers=tenants["alpha"]).json()["status"] == "pending"


def test_lists_and_filters_see_only_the_callers_tenant(client: TestClient, tenants: dict[str, Any]) -> None:
    beta, run_id = tenants["beta"], tenants["run"]["id"]
    for path in (
        "/maestro/runs",
        "/maestro/runs?owner=ci",
        "/maestro/artifacts",
        f"/maestro/artifacts?run_id={run_id}",
        "/maestro/disclosure-packs",
        f"/maestro/disclosure-packs?run_id={run_id}",
    ):
        assert client.get(path, headers=beta).json() == [], path
        assert len(client.get(path, headers=tenants["alpha"]).json()) == 1, path


def test_a_pack_cannot_name_another_tenants_run_or_artifact(
    client: TestClient, tenants: dict[str, Any]
) -> None:
    beta = tenants["beta"]
    foreign_run = client.post(
        "/maestro/disclosure-packs", json={"run_id": tenants["run"]["id"], "summary": "s"}, headers=beta
    )
    assert foreign_run.status_code == 404
    own = client.post("/maestro/runs", json=RUN, headers=beta).json()
    foreign_artifact = client.post(
        "/maestro/disclosure-packs",
        json={"run_id": own["id"], "summary": "s", "artifact_ids": [tenants["artifact"]["id"]]},
        headers=beta,
    )
    assert foreign_artifact.status_code == 422
    assert "does not exist" in foreign_artifact.json()["detail"]


def test_each_tenants_audit_log_holds_its_own_changes(client: TestClient, tenants: dict[str, Any]) -> None:
    run_id = tenants["run"]["id"]
    settled = client.get(f"/maestro/runs/{run_id}/gate-evaluations", headers=tenants["alpha"])
    assert settled.status_code == 200  # the gate evaluator has judged every change by now
    alpha = client.get("/maestro/audit", headers=tenants["alpha"]).json()
    actions = [item["event"]["action"] for item in alpha]
    assert [a for a in actions if a != "gate.evaluated"] == [
        "run.create",
        "artifact.create",
        "disclosure_pack.create",
    ]
    judged = [item["event"] for item in alpha if item["event"]["action"] == "gate.evaluated"]
    assert judged
    assert all(e["object"] == {"type": "run", "id": run_id} for e in judged)
    assert alpha[0]["event"]["object"]["id"] == run_id
    assert all(item["event"]["tenant_id"] == "alpha" for item in alpha)
    assert client.get("/maestro/audit", headers=tenants["beta"]).json() == []
    checkpoint = client.get("/maestro/audit/checkpoint", headers=tenants["alpha"])
    assert f"/audit/alpha\n{len(alpha)}\n" in checkpoint.text


def test_a_denied_request_is_audited_once_and_changes_nothing(
    client: TestClient, maestro_store: Database, tenants: dict[str, Any]
) -> None:
    viewer = bearer(issue(maestro_store, Role.VIEWER, "beta"))
    refused = client.post("/maestro/runs", json=RUN, headers=viewer)
    assert refused.status_code == 403
    assert client.get("/maestro/runs", headers=tenants["beta"]).json() == []
    log = client.get("/maestro/audit", headers=tenants["beta"]).json()
    assert [(item["event"]["action"], item["event"]["status"]) for item in log] == [("auth.denied", 403)]


def test_identical_bytes_in_two_tenants_reveal_nothing(client: TestClient, tenants: dict[str, Any]) -> None:
    """The blob store keeps one copy of equal bytes; neither tenant can tell the other
    stored them first: the same status, the same fields, only its own ids."""
    content = b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}'
    answers = {}
    for name in ("alpha", "beta"):
        own = client.post("/maestro/runs", json=RUN, headers=tenants[name]).json()
        artifact = client.post(
            "/maestro/artifacts",
            json={"run_id": own["id"], "kind": "sbom", "path_or_uri": "file:///bom.json"},
            headers=tenants[name],
        ).json()
        url = f"/maestro/artifacts/{artifact['id']}/content"
        answers[name] = client.put(url, content=content, headers=tenants[name])
        assert answers[name].status_code == 201, answers[name].text
        assert client.get(url, headers=tenants[name]).content == content
        other = "beta" if name == "alpha" else "alpha"
        assert client.get(url, headers=tenants[other]).status_code == 404
    alpha, beta = answers["alpha"], answers["beta"]
    assert set(alpha.json()) == set(beta.json())
    assert sorted(alpha.headers) == sorted(beta.headers)
    uploaded = [{k: v for k, v in a.json()["content"].items() if k != "uploaded_at"} for a in (alpha, beta)]
    assert uploaded[0] == uploaded[1]
    assert uploaded[0]["size"] == len(content)
    assert alpha.json()["evidence"] == beta.json()["evidence"] is not None
    assert alpha.json()["id"] not in beta.text
    assert alpha.json()["run_id"] not in beta.text
