"""Local mode (MAESTRO_AUTH=auto, no token yet): loopback acts as admin; the rest get the
401 that says how to bootstrap; the first token ends it for good."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from maestro.app import create_app
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.tenancy import auth
from maestro.tenancy.auth import BOOTSTRAP_HINT, is_loopback
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import bearer, issue


@pytest.fixture(autouse=True)
def _real_peers_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "EXTRA_LOOPBACK_PEERS", frozenset())


def _client(app: FastAPI, host: str) -> TestClient:
    return TestClient(app, client=(host, 40000))


@pytest.fixture
def peers(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    clients = {host: _client(app, host) for host in ("127.0.0.1", "::1", "10.1.2.3", "testclient")}
    with clients["127.0.0.1"]:
        yield clients


def _bootstrap_401(response: object) -> None:
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.json() == {"detail": BOOTSTRAP_HINT, "error": "unauthorized"}  # type: ignore[attr-defined]
    assert "maestro tokens bootstrap" in BOOTSTRAP_HINT


def test_loopback_acts_as_the_default_admin(peers: dict[str, TestClient]) -> None:
    for host in ("127.0.0.1", "::1"):
        created = peers[host].post("/maestro/runs", json={"name": "local", "owner": "me"})
        assert created.status_code == 201, created.text
        assert peers[host].post("/maestro/trusted-keys", json={"name": "k", "pem": "x"}).status_code == 422


@pytest.mark.parametrize("host", ["10.1.2.3", "testclient"])
def test_other_peers_get_the_bootstrap_hint(peers: dict[str, TestClient], host: str) -> None:
    _bootstrap_401(peers[host].get("/maestro/runs"))


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_proxied_loopback_request_gets_the_bootstrap_hint(
    peers: dict[str, TestClient], header: str
) -> None:
    _bootstrap_401(peers["127.0.0.1"].get("/maestro/runs", headers={header: "for=203.0.113.9"}))


def test_the_first_token_ends_local_mode_and_sees_local_data(
    peers: dict[str, TestClient], maestro_store: Database
) -> None:
    local = peers["127.0.0.1"]
    run = local.post("/maestro/runs", json={"name": "before", "owner": "me"}).json()
    token = issue(maestro_store, Role.VIEWER)
    refused = local.get("/maestro/runs")
    assert refused.status_code == 401
    assert "An API token is required" in refused.json()["detail"]
    seen = local.get(f"/maestro/runs/{run['id']}", headers=bearer(token))
    assert seen.status_code == 200
    assert seen.json()["name"] == "before"


def test_revoked_tokens_still_end_local_mode(peers: dict[str, TestClient], app: FastAPI) -> None:
    token, other = issue(app.state.db), issue(app.state.db)
    assert peers["127.0.0.1"].delete(f"/maestro/tokens/{token.id}", headers=bearer(other)).status_code == 200
    assert peers["127.0.0.1"].delete(f"/maestro/tokens/{other.id}", headers=bearer(token)).status_code == 401
    assert peers["127.0.0.1"].get("/maestro/runs").status_code == 401


def test_required_mode_needs_a_token_even_from_loopback(maestro_store: Database, tmp_path: Path) -> None:
    settings = Settings(database_url=maestro_store.url, data_dir=tmp_path, auth="required")
    app = create_app(settings, database=maestro_store)
    with _client(app, "127.0.0.1") as local:
        response = local.get("/maestro/runs")
        assert response.status_code == 401
        assert "An API token is required" in response.json()["detail"]
        assert (
            local.get("/maestro/runs", headers=bearer(issue(maestro_store, Role.VIEWER))).status_code == 200
        )


def test_the_server_warns_at_start_in_local_mode(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="maestro.auth"), _client(app, "127.0.0.1"):
        pass
    assert any("local mode" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("localhost", False),
        ("testclient", False),
        ("", False),
        (None, False),
    ],
)
def test_what_counts_as_loopback(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected
