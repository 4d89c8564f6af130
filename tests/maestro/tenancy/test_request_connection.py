"""On PostgreSQL a request's token lookup is the first read of its unit of work: one pooled
connection per request, not one for authentication and another for the work. A handler
that prepares work outside the unit of work (an upload spools before its transaction)
still can: the lookup-only transaction is ended first. A revoked token is refused on
the next request all the same, and a denied request keeps nothing it began."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from maestro.db.engine import Database
from maestro.db.tables import RunRow
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import bearer, issue


@pytest.fixture
def checkouts(maestro_store: Database) -> Iterator[list[int]]:
    """How many pooled connections were checked out since the last clear."""
    seen: list[int] = []

    def count(*_: object) -> None:
        seen.append(1)

    event.listen(maestro_store.engine, "checkout", count)
    yield seen
    event.remove(maestro_store.engine, "checkout", count)


def _quiet(client: TestClient) -> None:
    client.app.state.gate_follower.stop()  # type: ignore[attr-defined]
    client.app.state.audit_sequencer.stop()  # type: ignore[attr-defined]


def test_an_authenticated_request_takes_one_connection_on_postgres(
    client: TestClient, maestro_store: Database, checkouts: list[int]
) -> None:
    token = issue(maestro_store, Role.WRITER)
    _quiet(client)
    run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=bearer(token))
    assert run.status_code == 201, run.text
    for method, path, body in (
        ("GET", f"/maestro/runs/{run.json()['id']}", None),
        ("PATCH", f"/maestro/runs/{run.json()['id']}", {"status": "running"}),
        ("GET", f"/maestro/runs/{run.json()['id']}/release-gate", None),
    ):
        checkouts.clear()
        response = client.request(method, path, json=body, headers=bearer(token))
        assert response.status_code == 200, response.text
        if maestro_store.dialect == "sqlite":
            assert len(checkouts) <= 2, (method, path)  # SQLite: the lookup reads on the loop
        else:
            assert len(checkouts) == 1, (method, path)


def test_an_upload_with_a_token_still_prepares_outside_the_unit_of_work(
    client: TestClient, maestro_store: Database
) -> None:
    token = issue(maestro_store, Role.WRITER)
    run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=bearer(token)).json()
    body = {"run_id": run["id"], "kind": "other", "path_or_uri": "notes.txt"}
    artifact = client.post("/maestro/artifacts", json=body, headers=bearer(token)).json()
    put = client.put(
        f"/maestro/artifacts/{artifact['id']}/content",
        content=b"hello",
        headers={**bearer(token), "content-type": "text/plain"},
    )
    assert put.status_code == 201, put.text
    got = client.get(f"/maestro/artifacts/{artifact['id']}/content", headers=bearer(token))
    assert (got.status_code, got.content) == (200, b"hello")


def test_a_denied_write_keeps_nothing_and_a_revoked_token_is_refused_at_once(
    client: TestClient, maestro_store: Database
) -> None:
    admin, viewer = issue(maestro_store, Role.ADMIN), issue(maestro_store, Role.VIEWER)
    _quiet(client)
    refused = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=bearer(viewer))
    assert refused.status_code == 403
    assert client.get("/maestro/runs", headers=bearer(viewer)).json() == []
    revoked = client.delete(f"/maestro/tokens/{viewer.id}", headers=bearer(admin))
    assert revoked.status_code == 200, revoked.text
    assert client.get("/maestro/runs", headers=bearer(viewer)).status_code == 401
    with maestro_store.read() as session:
        assert session.scalar(select(func.count()).select_from(RunRow)) == 0
