"""IntelGraph id checks against a small real HTTP server standing in for IntelGraph
(a third party we cannot run here)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from maestro.app import create_app
from maestro.config import Settings
from maestro.db.engine import Database


class FakeIntelGraphHandler(BaseHTTPRequestHandler):
    known: ClassVar[set[str]] = {
        "/api/entities/entity-123",
        "/api/entities/entity-456",
        "/api/decisions/decision-101",
    }
    seen: ClassVar[list[str]] = []
    broken: ClassVar[bool] = False

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        status = 500 if type(self).broken else 200 if self.path in self.known else 404
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def intelgraph() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeIntelGraphHandler)
    FakeIntelGraphHandler.seen = []
    FakeIntelGraphHandler.broken = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def _client(settings: Settings, db: Database, url: str) -> TestClient:
    configured = settings.model_copy(update={"intelgraph_url": url, "intelgraph_timeout": 2.0})
    return TestClient(create_app(configured, database=db))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_known_ids_are_accepted(settings: Settings, maestro_store: Database, intelgraph: str) -> None:
    with _client(settings, maestro_store, intelgraph) as client:
        body = {
            "name": "n",
            "owner": "o",
            "related_entity_ids": ["entity-123"],
            "related_decision_ids": ["decision-101"],
        }
        assert client.post("/maestro/runs", json=body).status_code == 201
    assert sorted(FakeIntelGraphHandler.seen) == ["/api/decisions/decision-101", "/api/entities/entity-123"]


def test_unknown_ids_are_422_naming_each(
    settings: Settings, maestro_store: Database, intelgraph: str
) -> None:
    with _client(settings, maestro_store, intelgraph) as client:
        body = {
            "name": "n",
            "owner": "o",
            "related_entity_ids": ["entity-123", "ghost-1"],
            "related_decision_ids": ["ghost-2"],
        }
        response = client.post("/maestro/runs", json=body)
        assert response.status_code == 422
        fields = [e["field"] for e in response.json()["errors"]]
        assert fields == ["related_entity_ids[1]", "related_decision_ids[0]"]
        assert "ghost-1" in response.json()["detail"]
        assert "ghost-2" in response.json()["detail"]
        assert client.get("/maestro/runs").json() == []


def test_update_checks_ids_too(settings: Settings, maestro_store: Database, intelgraph: str) -> None:
    with _client(settings, maestro_store, intelgraph) as client:
        run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()
        response = client.patch(f"/maestro/runs/{run['id']}", json={"related_entity_ids": ["ghost"]})
        assert response.status_code == 422
        assert client.get(f"/maestro/runs/{run['id']}").json()["related_entity_ids"] == []


def test_ids_cannot_reach_other_intelgraph_paths(
    settings: Settings, maestro_store: Database, intelgraph: str
) -> None:
    with _client(settings, maestro_store, intelgraph) as client:
        body = {"name": "n", "owner": "o", "related_entity_ids": ["../decisions/decision-101", "a?b#c"]}
        response = client.post("/maestro/runs", json=body)
        assert response.status_code == 422
    assert sorted(FakeIntelGraphHandler.seen) == [
        "/api/entities/..%2Fdecisions%2Fdecision-101",
        "/api/entities/a%3Fb%23c",
    ]


def test_unreachable_intelgraph_is_503_and_nothing_written(
    settings: Settings, maestro_store: Database
) -> None:
    with _client(settings, maestro_store, f"http://127.0.0.1:{_closed_port()}") as client:
        body = {"name": "n", "owner": "o", "related_entity_ids": ["entity-123"]}
        response = client.post("/maestro/runs", json=body)
        assert response.status_code == 503
        assert response.json()["error"] == "dependency_unavailable"
        assert "unreachable" in response.json()["detail"]
        assert client.get("/maestro/runs").json() == []


def test_failing_intelgraph_is_503(settings: Settings, maestro_store: Database, intelgraph: str) -> None:
    FakeIntelGraphHandler.broken = True
    with _client(settings, maestro_store, intelgraph) as client:
        response = client.post(
            "/maestro/runs", json={"name": "n", "owner": "o", "related_entity_ids": ["entity-123"]}
        )
        assert response.status_code == 503
        assert "answered 500" in response.json()["detail"]
        assert client.get("/maestro/runs").json() == []


def test_runs_without_links_never_call_intelgraph(
    settings: Settings, maestro_store: Database, intelgraph: str
) -> None:
    with _client(settings, maestro_store, intelgraph) as client:
        assert client.post("/maestro/runs", json={"name": "n", "owner": "o"}).status_code == 201
    assert FakeIntelGraphHandler.seen == []


def test_off_by_default_ids_are_plain_strings(client: TestClient) -> None:
    body = {"name": "n", "owner": "o", "related_entity_ids": ["anything-at-all"]}
    assert client.post("/maestro/runs", json=body).status_code == 201
