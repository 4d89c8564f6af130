"""NUL characters and timestamps that overflow in UTC, sent to every endpoint that takes
ids, filters or timestamps - the list is read from the OpenAPI document, so an endpoint
added later is covered without anyone adding it here. Runs on SQLite and PostgreSQL
(PostgreSQL cannot store NUL at all, where SQLite would quietly answer 404 or 200)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro.app import create_app
from maestro.config import Settings

OVERFLOWING = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
_METHODS = ("get", "put", "post", "delete", "patch")


def _spec() -> dict[str, Any]:
    # The document does not depend on the database: build it once, at collection.
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    return app.openapi()


SPEC = _spec()


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method in _METHODS:
            if method in item:
                yield method, path, item[method]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return SPEC["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _is_timestamp(schema: dict[str, Any]) -> bool:
    return any(option.get("format") == "date-time" for option in [schema, *schema.get("anyOf", [])])


def _url(path: str, replace: dict[str, str] | None = None) -> str:
    """The path with every id filled in: ``nope`` unless ``replace`` says otherwise."""
    for segment in path.split("/"):
        if segment.startswith("{"):
            name = segment[1:-1]
            path = path.replace(segment, (replace or {}).get(name, "nope"))
    return path


def _json_body(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    return {} if "application/json" in content else None


PATH_IDS = [
    pytest.param(method, path, name, id=f"{method.upper()} {path} {name}")
    for method, path, operation in _operations()
    for name in [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
]
QUERY_PARAMS = [
    pytest.param(method, path, p["name"], id=f"{method.upper()} {path} ?{p['name']}")
    for method, path, operation in _operations()
    for p in operation.get("parameters", [])
    if p["in"] == "query"
]
QUERY_TIMESTAMPS = [
    pytest.param(method, path, p["name"], stamp, id=f"{method.upper()} {path} ?{p['name']}={stamp}")
    for method, path, operation in _operations()
    for p in operation.get("parameters", [])
    if p["in"] == "query" and _is_timestamp(p["schema"])
    for stamp in OVERFLOWING
]
BODY_TIMESTAMPS = [
    pytest.param(method, path, field, stamp, id=f"{method.upper()} {path} {field}={stamp}")
    for method, path, operation in _operations()
    if _json_body(operation) is not None
    for field, schema in _resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    .get("properties", {})
    .items()
    if _is_timestamp(schema)
    for stamp in OVERFLOWING
]


def test_the_lists_cover_the_known_endpoints() -> None:
    """A guard on the generator itself: it must find what we know is there."""
    assert {
        "GET /maestro/runs/{run_id} run_id",
        "PUT /maestro/artifacts/{artifact_id}/content artifact_id",
    } <= {p.id for p in PATH_IDS}
    assert {"GET /maestro/runs ?cursor", "GET /maestro/components ?purl"} <= {p.id for p in QUERY_PARAMS}
    assert {p.values[2] for p in QUERY_TIMESTAMPS} == {"started_after", "started_before", "since", "until"}
    assert {p.values[2] for p in BODY_TIMESTAMPS} == {"started_at", "finished_at", "expires_at"}


def _send(client: TestClient, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return client.request(method.upper(), url)
    return client.request(method.upper(), url, json=body)


@pytest.mark.parametrize(("method", "path", "name"), PATH_IDS)
def test_nul_in_a_path_id_is_404(client: TestClient, method: str, path: str, name: str) -> None:
    operation = SPEC["paths"][path][method]
    url = _url(path, {name: "ab%00cd"})
    response = _send(client, method, url, _json_body(operation))
    assert response.status_code == 404, response.text
    assert response.json()["error"].endswith("not_found")


@pytest.mark.parametrize(("method", "path", "name"), QUERY_PARAMS)
def test_nul_in_a_query_parameter_is_422_naming_it(
    client: TestClient, method: str, path: str, name: str
) -> None:
    operation = SPEC["paths"][path][method]
    response = _send(client, method, f"{_url(path)}?{name}=ab%00cd", _json_body(operation))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [name]
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "name", "stamp"), QUERY_TIMESTAMPS)
def test_overflowing_timestamp_filter_is_422_naming_it(
    client: TestClient, method: str, path: str, name: str, stamp: str
) -> None:
    response = client.request(method.upper(), _url(path), params={name: stamp})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [name]
    assert "out of range" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "field", "stamp"), BODY_TIMESTAMPS)
def test_overflowing_timestamp_in_a_body_is_422_naming_it(
    client: TestClient, method: str, path: str, field: str, stamp: str
) -> None:
    response = client.request(method.upper(), _url(path), json={field: stamp})
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "out of range once converted to UTC" in errors[field]
