"""Bad input gets a 4xx JSON error that names the field, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

MakeRun = Callable[..., dict[str, Any]]


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
        assert field in body["detail"]
    return dict(body)


def no_runs(client: TestClient) -> bool:
    return client.get("/maestro/runs").json() == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"owner": "o"}, "name"),
        ({"name": "n"}, "owner"),
        ({"name": "", "owner": "o"}, "name"),
        ({"name": 5, "owner": "o"}, "name"),
        ({"name": "n", "owner": "o", "status": "done"}, "status"),
        ({"name": "n", "owner": "o", "cost_estimate": -0.01}, "cost_estimate"),
        ({"name": "n", "owner": "o", "cost_actual": "10"}, "cost_actual"),
        ({"name": "n", "owner": "o", "cost_estimate": True}, "cost_estimate"),
        ({"name": "n", "owner": "o", "surprise": 1}, "surprise"),
        ({"name": "x" * 513, "owner": "o"}, "name"),
        ({"name": "n", "owner": "o" * 321}, "owner"),
        ({"name": "n\x00", "owner": "o"}, "name"),
        ({"name": "n", "owner": "o", "related_entity_ids": "e-1"}, "related_entity_ids"),
        ({"name": "n", "owner": "o", "related_entity_ids": ["e"] * 2}, "related_entity_ids"),
        (
            {"name": "n", "owner": "o", "related_entity_ids": [f"e{i}" for i in range(1001)]},
            "related_entity_ids",
        ),
        ({"name": "n", "owner": "o", "related_decision_ids": ["d" * 257]}, "related_decision_ids[0]"),
        ({"name": "n", "owner": "o", "metadata": []}, "metadata"),
        ({"name": "n", "owner": "o", "metadata": {"k": "\x00"}}, "metadata"),
        ({"name": "n", "owner": "o", "finished_at": "2025-11-22T10:30:00Z"}, "finished_at"),
        ({"name": "n", "owner": "o", "started_at": "yesterday"}, "started_at"),
        ({"name": "n", "owner": "o", "started_at": "2025-11-22T10:30:00"}, "started_at"),
        ({"name": "n", "owner": "o", "id": "mine"}, "id"),
    ],
)
def test_bad_run_payloads_are_422_naming_the_field(
    client: TestClient, payload: dict[str, Any], field: str
) -> None:
    assert_error(client.post("/maestro/runs", json=payload), 422, "validation_failed", field)
    assert no_runs(client)


def test_metadata_nesting_is_bounded(client: TestClient) -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(40):
        node["k"] = {}
        node = node["k"]
    response = client.post("/maestro/runs", json={"name": "n", "owner": "o", "metadata": deep})
    body = assert_error(response, 422, "validation_failed", "metadata")
    assert "deeper than 32" in body["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(client: TestClient, literal: str) -> None:
    raw = f'{{"name": "n", "owner": "o", "metadata": {{"x": {literal}}}}}'
    response = client.post("/maestro/runs", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 422, "validation_failed", "metadata")
    raw = f'{{"name": "n", "owner": "o", "cost_estimate": {literal}}}'
    response = client.post("/maestro/runs", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 422, "validation_failed", "cost_estimate")
    assert no_runs(client)


def test_lone_surrogate_is_refused(client: TestClient) -> None:
    raw = '{"name": "\\ud800", "owner": "o"}'
    response = client.post("/maestro/runs", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 422, "validation_failed", "name")


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/maestro/runs", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    body = assert_error(response, 422, "validation_failed", "body")
    assert "not valid JSON" in body["detail"]


def test_missing_body_is_422(client: TestClient) -> None:
    assert_error(client.post("/maestro/runs"), 422, "validation_failed", "body")


def test_curl_form_content_type_is_read_as_json(client: TestClient) -> None:
    """`curl -d '{...}'` without -H sends application/x-www-form-urlencoded."""
    response = client.post(
        "/maestro/runs",
        content=b'{"name": "n", "owner": "o"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "image/png"])
def test_non_json_content_type_is_415(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/maestro/runs", content=b'{"name": "n", "owner": "o"}', headers={"content-type": content_type}
    )
    assert_error(response, 415, "unsupported_media_type")
    assert no_runs(client)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_content_types_are_accepted(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/maestro/runs", content=b'{"name": "n", "owner": "o"}', headers={"content-type": content_type}
    )
    assert response.status_code == 201


def test_body_over_one_mib_is_413_and_nothing_written(client: TestClient) -> None:
    payload = {"name": "n", "owner": "o", "metadata": {"blob": "x" * (1024 * 1024)}}
    response = client.post("/maestro/runs", json=payload)
    assert_error(response, 413, "payload_too_large")
    assert response.headers["x-request-id"]
    assert no_runs(client)


def test_chunked_body_over_limit_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"name": "n", "owner": "o", "metadata": {"blob": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}}'

    response = client.post("/maestro/runs", content=chunks(), headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large")
    assert no_runs(client)


def test_chunked_body_under_limit_is_accepted(client: TestClient) -> None:
    def chunks() -> Any:
        yield b'{"name": "n",'
        yield b' "owner": "o"}'

    response = client.post("/maestro/runs", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 201


def test_bad_content_length_is_400(client: TestClient) -> None:
    response = client.post(
        "/maestro/runs", content=b"{}", headers={"content-type": "application/json", "content-length": "abc"}
    )
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "sbom", "path_or_uri": "s3://x"}, "run_id"),
        ({"run_id": "r", "kind": "binary", "path_or_uri": "s3://x"}, "kind"),
        ({"run_id": "r", "kind": "sbom"}, "path_or_uri"),
        ({"run_id": "r", "kind": "sbom", "path_or_uri": "x" * 4097}, "path_or_uri"),
        ({"run_id": "r", "kind": "sbom", "path_or_uri": "s3://x", "content_hash": 7}, "content_hash"),
        (
            {
                "run_id": "r",
                "kind": "sbom",
                "path_or_uri": "s3://x",
                "metadata_json": {"sbom_present": "yes"},
            },
            "metadata_json.sbom_present",
        ),
        (
            {"run_id": "r", "kind": "sbom", "path_or_uri": "s3://x", "metadata_json": {"sbom": True}},
            "metadata_json.sbom",
        ),
        (
            {"run_id": "r", "kind": "sbom", "path_or_uri": "s3://x", "created_at": "2025-01-01T00:00:00Z"},
            "created_at",
        ),
    ],
)
def test_bad_artifact_payloads_are_422(
    client: TestClient, make_run: MakeRun, payload: dict[str, Any], field: str
) -> None:
    run = make_run()
    if "run_id" in payload:
        payload = {**payload, "run_id": run["id"]}
    assert_error(client.post("/maestro/artifacts", json=payload), 422, "validation_failed", field)
    assert client.get("/maestro/artifacts").json() == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"summary": "s"}, "run_id"),
        ({"run_id": "RUN"}, "summary"),
        ({"run_id": "RUN", "summary": "s" * 65537}, "summary"),
        ({"run_id": "RUN", "summary": "s", "artifact_ids": "a"}, "artifact_ids"),
        ({"run_id": "RUN", "summary": "s", "artifact_ids": ["a", "a"]}, "artifact_ids"),
        ({"run_id": "RUN", "summary": "s", "extra": 1}, "extra"),
    ],
)
def test_bad_pack_payloads_are_422(
    client: TestClient, make_run: MakeRun, payload: dict[str, Any], field: str
) -> None:
    run = make_run()
    if payload.get("run_id") == "RUN":
        payload = {**payload, "run_id": run["id"]}
    assert_error(client.post("/maestro/disclosure-packs", json=payload), 422, "validation_failed", field)
    assert client.get("/maestro/disclosure-packs").json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("status=done", "status"),
        ("order=sideways", "order"),
        ("cursor=not-a-cursor", "cursor"),
        ("started_after=2025-01-01T00:00:00", "started_after"),
        ("started_before=yesterday", "started_before"),
    ],
)
def test_bad_list_queries_are_422(client: TestClient, query: str, field: str) -> None:
    assert_error(client.get(f"/maestro/runs?{query}"), 422, "validation_failed", field)


def test_unknown_endpoint_is_json_404(client: TestClient) -> None:
    response = client.get("/maestro/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such endpoint", "error": "not_found"}


def test_wrong_method_is_json_405(client: TestClient) -> None:
    response = client.delete("/maestro/runs")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_error_shape_is_locked(client: TestClient) -> None:
    """Every error body has exactly detail + error (+ errors for field problems)."""
    responses = [
        client.get("/maestro/runs/nope"),
        client.post("/maestro/runs", json={}),
        client.get("/maestro/runs?limit=0"),
        client.get("/nowhere"),
    ]
    for response in responses:
        assert set(response.json()) <= {"detail", "error", "errors"}
        assert {"detail", "error"} <= set(response.json())
        assert response.headers["content-type"] == "application/json"
