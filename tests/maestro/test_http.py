"""The HTTP surface around the API: request ids, the access log, probes, OpenAPI."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient


def test_request_id_is_generated_and_returned(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first != second
    assert len(first) == 32


def test_sane_client_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/maestro/runs/nope", headers={"X-Request-ID": "ci-job-42.step:7"})
    assert response.headers["x-request-id"] == "ci-job-42.step:7"


@pytest.mark.parametrize("given", ["has space", "x" * 129, "new\\nline", "<script>"])
def test_insane_client_request_id_is_replaced(client: TestClient, given: str) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"] != given


def test_one_json_log_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="maestro.access"):
        caplog.handler.setFormatter(logging.getLogger("maestro").handlers[0].formatter)
        response = client.post(
            "/maestro/runs", json={"name": "n", "owner": "o"}, headers={"X-Request-ID": "rid-1"}
        )
    records = [r for r in caplog.records if r.name == "maestro.access"]
    assert len(records) == 1
    line = json.loads(caplog.handler.format(records[0]))
    assert line["request_id"] == "rid-1"
    assert line["method"] == "POST"
    assert line["path"] == "/maestro/runs"
    assert line["status"] == response.status_code == 201
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"


def test_error_responses_are_logged_with_their_status(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="maestro.access"):
        client.get("/maestro/runs/nope")
    statuses = [r.__dict__["status"] for r in caplog.records if r.name == "maestro.access"]
    assert statuses == [404]


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_lists_every_seed_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    expected = {
        ("POST", "/maestro/runs"),
        ("GET", "/maestro/runs"),
        ("GET", "/maestro/runs/{run_id}"),
        ("PATCH", "/maestro/runs/{run_id}"),
        ("GET", "/maestro/runs/{run_id}/manifest"),
        ("GET", "/maestro/runs/{run_id}/release-gate"),
        ("POST", "/maestro/artifacts"),
        ("GET", "/maestro/artifacts"),
        ("GET", "/maestro/artifacts/{artifact_id}"),
        ("POST", "/maestro/disclosure-packs"),
        ("GET", "/maestro/disclosure-packs"),
        ("GET", "/maestro/disclosure-packs/{pack_id}"),
    }
    assert expected <= operations
    run_schema = spec["components"]["schemas"]["Run"]["properties"]
    assert run_schema["status"]["$ref"].endswith("RunStatus")
    assert spec["components"]["schemas"]["RunStatus"]["enum"] == [
        "pending", "running", "succeeded", "failed", "cancelled"
    ]  # fmt: skip


def test_interactive_docs_are_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text
