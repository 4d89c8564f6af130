"""Token lifecycle over HTTP: create (secret once), list, revoke, expiry, tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from maestro.db.engine import Database
from maestro.db.tenancy_tables import ApiTokenRow
from maestro.tenancy import token_format
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import bearer, ensure_tenant, issue

REQUIRED = {"detail": "An API token is required: send Authorization: Bearer <token>", "error": "unauthorized"}


def _unauthorized(response: object, detail_part: str) -> None:
    assert response.status_code == 401, response.text  # type: ignore[attr-defined]
    assert response.headers["www-authenticate"] == "Bearer"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"] == "unauthorized"
    assert detail_part in body["detail"]


def test_create_shows_the_secret_once_and_stores_only_its_hash(
    client: TestClient, maestro_store: Database
) -> None:
    admin = issue(maestro_store)
    created = client.post("/maestro/tokens", json={"role": "writer", "name": "ci"}, headers=bearer(admin))
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["cache-control"] == "no-store"
    assert body["token"].startswith("mae_")
    assert body["tenant_id"] == "default"
    assert body["created_by"] == admin.id
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)
    listed = client.get("/maestro/tokens", headers=bearer(admin)).json()
    assert {t["id"] for t in listed} == {admin.id, body["id"]}
    assert all("token" not in t for t in listed)
    with maestro_store.read() as session:
        stored = session.scalars(select(ApiTokenRow.token_hash)).all()
    assert token_format.token_hash(body["token"]) in stored
    assert body["token"] not in stored
    assert (
        client.post(
            "/maestro/runs", json={"name": "n", "owner": "o"}, headers=bearer(body["token"])
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("expires_at", "message"),
    [
        (lambda now: now - timedelta(minutes=1), "is not in the future"),
        (lambda now: now + timedelta(days=367), "is more than 366 days ahead"),
    ],
)
def test_expiry_bounds(client: TestClient, maestro_store: Database, expires_at: object, message: str) -> None:
    admin = issue(maestro_store)
    when = expires_at(datetime.now(UTC))  # type: ignore[operator]
    response = client.post(
        "/maestro/tokens",
        json={"role": "viewer", "name": "x", "expires_at": when.isoformat()},
        headers=bearer(admin),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0] == {"field": "expires_at", "message": message}


def test_the_longest_expiry_is_accepted(client: TestClient, maestro_store: Database) -> None:
    admin = issue(maestro_store)
    when = datetime.now(UTC) + timedelta(days=365)
    response = client.post(
        "/maestro/tokens",
        json={"role": "viewer", "name": "x", "expires_at": when.isoformat()},
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text


def test_revocation_takes_effect_on_the_next_request(client: TestClient, maestro_store: Database) -> None:
    admin = issue(maestro_store)
    viewer = issue(maestro_store, Role.VIEWER)
    assert client.get("/maestro/runs", headers=bearer(viewer)).status_code == 200
    revoked = client.delete(f"/maestro/tokens/{viewer.id}", headers=bearer(admin))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    _unauthorized(client.get("/maestro/runs", headers=bearer(viewer)), "was revoked")
    again = client.delete(f"/maestro/tokens/{viewer.id}", headers=bearer(admin))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert client.delete("/maestro/tokens/nope", headers=bearer(admin)).status_code == 404
    itself = client.delete(f"/maestro/tokens/{admin.id}", headers=bearer(admin))
    assert itself.status_code == 409
    assert "cannot revoke itself" in itself.json()["detail"]


def test_an_expired_token_is_refused(client: TestClient, maestro_store: Database) -> None:
    old = issue(
        maestro_store, Role.VIEWER, now=datetime.now(UTC) - timedelta(days=2), lifetime=timedelta(days=1)
    )
    _unauthorized(client.get("/maestro/runs", headers=bearer(old)), "has expired")


def test_bodies_say_what_is_missing_without_telling_whether_a_token_exists(
    client: TestClient, maestro_store: Database
) -> None:
    valid = issue(maestro_store, Role.VIEWER)
    response = client.get("/maestro/runs")
    assert response.status_code == 401
    assert response.json() == REQUIRED
    unknown = token_format.new_token()
    _unauthorized(client.get("/maestro/runs", headers=bearer(unknown)), "The bearer token is not valid")
    broken = valid.token[:-1] + ("A" if valid.token[-1] != "A" else "B")
    _unauthorized(client.get("/maestro/runs", headers=bearer(broken)), "checksum does not match")
    _unauthorized(client.get("/maestro/runs", headers=bearer("secret")), "is malformed")
    _unauthorized(client.get("/maestro/runs", headers=bearer("mae_" + "x" * 10_000)), "is malformed")
    _unauthorized(
        client.get("/maestro/runs", headers={"Authorization": f"Basic {valid.token}"}), "'Bearer <token>'"
    )
    # A valid viewer token on an admin route: 403 naming the role, and no 401.
    forbidden = client.post("/maestro/trusted-keys", json={"name": "k", "pem": "x"}, headers=bearer(valid))
    assert forbidden.status_code == 403
    assert "needs role admin" in forbidden.json()["detail"]


@pytest.mark.parametrize("name", ["token", "access_token", "api_key"])
def test_a_token_in_the_query_string_is_refused(
    client: TestClient, maestro_store: Database, name: str
) -> None:
    admin = issue(maestro_store)
    response = client.get(f"/maestro/runs?{name}={admin.token}")
    _unauthorized(response, f"?{name}=")
    # Even together with a good header: the URL has already leaked the secret into logs.
    _unauthorized(client.get(f"/maestro/runs?{name}={admin.token}", headers=bearer(admin)), "refused")


def test_another_tenants_tokens_are_invisible(client: TestClient, maestro_store: Database) -> None:
    system_admin = issue(maestro_store)
    acme_admin = issue(maestro_store, Role.ADMIN, "acme")
    ensure_tenant(maestro_store, "globex")
    globex_viewer = issue(maestro_store, Role.VIEWER, "globex")
    listed = client.get("/maestro/tokens", headers=bearer(acme_admin)).json()
    assert [t["id"] for t in listed] == [acme_admin.id]
    assert client.get("/maestro/tokens?tenant_id=globex", headers=bearer(acme_admin)).json() == []
    assert client.delete(f"/maestro/tokens/{globex_viewer.id}", headers=bearer(acme_admin)).status_code == 404
    made = client.post(
        "/maestro/tokens",
        json={"role": "viewer", "name": "x", "tenant_id": "globex"},
        headers=bearer(acme_admin),
    )
    assert made.status_code == 404
    assert made.json()["error"] == "tenant_not_found"
    own = client.post(
        "/maestro/tokens",
        json={"role": "viewer", "name": "x", "tenant_id": "acme"},
        headers=bearer(acme_admin),
    )
    assert own.status_code == 201
    assert own.json()["tenant_id"] == "acme"
    everything = client.get("/maestro/tokens", headers=bearer(system_admin)).json()
    assert len(everything) == 4
    only_globex = client.get("/maestro/tokens?tenant_id=globex", headers=bearer(system_admin)).json()
    assert [t["id"] for t in only_globex] == [globex_viewer.id]


def test_tenants_are_managed_from_the_default_tenant(client: TestClient, maestro_store: Database) -> None:
    system_admin = issue(maestro_store)
    acme_admin = issue(maestro_store, Role.ADMIN, "acme")
    created = client.post(
        "/maestro/tenants", json={"id": "initech", "name": "Initech"}, headers=bearer(system_admin)
    )
    assert created.status_code == 201
    assert created.json()["id"] == "initech"
    again = client.post("/maestro/tenants", json={"id": "initech", "name": "I"}, headers=bearer(system_admin))
    assert again.status_code == 409
    bad = client.post(
        "/maestro/tenants", json={"id": "Not A Slug", "name": "x"}, headers=bearer(system_admin)
    )
    assert bad.status_code == 422
    ids = [t["id"] for t in client.get("/maestro/tenants", headers=bearer(system_admin)).json()]
    assert set(ids) == {"default", "acme", "initech"}
    refused = client.post("/maestro/tenants", json={"id": "x", "name": "x"}, headers=bearer(acme_admin))
    assert refused.status_code == 403
    assert "tenant 'default'" in refused.json()["detail"]
    assert client.get("/maestro/tenants", headers=bearer(acme_admin)).status_code == 403
    made = client.post(
        "/maestro/tokens",
        json={"role": "writer", "name": "w", "tenant_id": "initech"},
        headers=bearer(system_admin),
    )
    assert made.status_code == 201
    missing = client.post(
        "/maestro/tokens",
        json={"role": "writer", "name": "w", "tenant_id": "nowhere"},
        headers=bearer(system_admin),
    )
    assert missing.status_code == 404


def test_a_create_with_an_idempotency_key_is_not_recorded(
    client: TestClient, maestro_store: Database
) -> None:
    """The secret must not be replayed (or stored) by the Idempotency-Key machinery."""
    admin = issue(maestro_store)
    headers = {**bearer(admin), "Idempotency-Key": "same-key"}
    first = client.post("/maestro/tokens", json={"role": "viewer", "name": "x"}, headers=headers)
    second = client.post("/maestro/tokens", json={"role": "viewer", "name": "x"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["token"] != second.json()["token"]


def test_an_idempotent_answer_is_replayed_only_to_the_same_token(
    client: TestClient, maestro_store: Database
) -> None:
    writer = issue(maestro_store, Role.WRITER)
    other = issue(maestro_store, Role.WRITER)
    run = {"name": "n", "owner": "o"}
    first = client.post("/maestro/runs", json=run, headers={**bearer(writer), "Idempotency-Key": "k1"})
    again = client.post("/maestro/runs", json=run, headers={**bearer(writer), "Idempotency-Key": "k1"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    anonymous = client.post("/maestro/runs", json=run, headers={"Idempotency-Key": "k1"})
    assert anonymous.status_code == 401
    assert "idempotent-replayed" not in anonymous.headers
    stranger = client.post("/maestro/runs", json=run, headers={**bearer(other), "Idempotency-Key": "k1"})
    assert stranger.status_code == 201
    assert stranger.json()["id"] != first.json()["id"]


def test_a_revoked_token_gets_no_replay_of_its_earlier_answer(
    client: TestClient, maestro_store: Database
) -> None:
    admin, writer = issue(maestro_store), issue(maestro_store, Role.WRITER)
    headers = {**bearer(writer), "Idempotency-Key": "before-revocation"}
    first = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=headers)
    assert first.status_code == 201
    assert client.delete(f"/maestro/tokens/{writer.id}", headers=bearer(admin)).status_code == 200
    again = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=headers)
    _unauthorized(again, "was revoked")
    assert "idempotent-replayed" not in again.headers
    assert first.json()["id"] not in again.text
    denials = client.get("/maestro/audit", params={"action": "auth.denied"}, headers=bearer(admin)).json()
    assert [e["event"]["status"] for e in denials][-1:] == [401]
