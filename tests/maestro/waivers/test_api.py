"""/maestro/waivers: each scope, every refusal naming its field, reads, lists, revocation,
audit events, tenant isolation and roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import bearer, issue
from tests.maestro.waivers.support import Clock, create, install_clock, iso, waiver_body

MakeRun = Callable[..., dict[str, Any]]


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    return install_clock(app)


@pytest.fixture
def until(clock: Clock) -> str:
    return iso(clock.at + timedelta(days=7))


def test_each_scope_is_created_as_sent(
    client: TestClient, make_run: MakeRun, clock: Clock, until: str
) -> None:
    run_id = make_run()["id"]
    by_run = create(client, run_id=run_id, expires_at=until)
    assert by_run["scope"] == "run"
    assert by_run["run_id"] == run_id
    assert by_run["match"] is None
    assert by_run["purl"] is None
    assert by_run["rule"] == "declared-compliant-artifact"
    assert by_run["reason"] == "accepted risk, ticket SEC-1"
    assert by_run["created_by"] == "local"  # local mode: no token exists
    assert by_run["created_at"] == iso(clock.at)
    assert by_run["expires_at"] == until
    assert by_run["revoked_at"] is None
    assert by_run["active"] is True

    matched = create(client, match={"owner": "ci", "metadata": {"project": "x", "tier": 1}}, expires_at=until)
    assert matched["scope"] == "match"
    assert matched["match"] == {"owner": "ci", "metadata": {"project": "x", "tier": 1}}
    assert matched["run_id"] is None

    by_purl = create(client, rule="sbom-verified", purl="pkg:pypi/lib1", expires_at=until)
    assert by_purl["scope"] == "purl"
    assert by_purl["purl"] == "pkg:pypi/lib1"

    fetched = client.get(f"/maestro/waivers/{matched['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == matched
    assert (
        client.post("/maestro/waivers", json=waiver_body(run_id=run_id, expires_at=until))
        .headers["location"]
        .startswith("/maestro/waivers/")
    )


def _refusal(client: TestClient, body: dict[str, Any]) -> tuple[str, str]:
    response = client.post("/maestro/waivers", json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["error"] == "validation_failed"
    error = answer["errors"][0]
    return error["field"], error["message"]


def test_refusals_name_the_field(client: TestClient, make_run: MakeRun, clock: Clock, until: str) -> None:
    run_id = make_run()["id"]
    base = {"rule": "run-succeeded", "reason": "why", "expires_at": until, "run_id": run_id}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({k: v for k, v in base.items() if k != "reason"}, "reason", "required"),
        ({**base, "reason": ""}, "reason", "at least 1"),
        ({**base, "reason": "   "}, "reason", "must not be blank"),
        ({**base, "reason": "x" * 1001}, "reason", "at most 1000"),
        ({k: v for k, v in base.items() if k != "expires_at"}, "expires_at", "required"),
        ({**base, "expires_at": iso(clock.at)}, "expires_at", "is not in the future"),
        ({**base, "expires_at": iso(clock.at - timedelta(days=1))}, "expires_at", "is not in the future"),
        ({**base, "expires_at": iso(clock.at + timedelta(days=91))}, "expires_at", "more than 90 days"),
        ({**base, "expires_at": "2030-01-01T00:00:00"}, "expires_at", "time zone"),
        ({**base, "match": {"owner": "ci"}}, "match", "not run_id and match"),
        ({**base, "purl": "pkg:pypi/x"}, "purl", "not run_id and purl"),
        ({k: v for k, v in base.items() if k != "run_id"}, "run_id", "give one of run_id, match or purl"),
        ({**base, "run_id": "no-such-run"}, "run_id", "run 'no-such-run' does not exist"),
        ({**base, "run_id": None, "match": {}}, "match", "give owner, metadata or both"),
        ({**base, "run_id": None, "match": {"owner": "ci", "x": 1}}, "match.x", "is not a known field"),
        ({**base, "run_id": None, "match": {"metadata": {"k": [1]}}}, "match.metadata.k", ""),
        ({**base, "run_id": None, "purl": "npm/left-pad"}, "purl", "must be a package URL"),
        ({**base, "run_id": None, "purl": "pkg:npm/left-pad?arch=x"}, "purl", "qualifiers"),
        ({**base, "rule": "no spaces"}, "rule", "pattern"),
        ({**base, "rule": "rego-evaluation"}, "rule", "cannot be waived"),
        ({**base, "owner": "ci"}, "owner", "is not a known field"),
    ]
    for body, field, message in cases:
        got_field, got_message = _refusal(client, body)
        # a union's error names its member too (match.metadata.k.constrained-str)
        assert got_field.partition(".constrained")[0] == field, (body, got_field, got_message)
        assert message in got_message, (body, got_field, got_message)
    assert client.get("/maestro/waivers").json() == []


def test_the_horizon_is_a_setting(
    maestro_store: Database, settings: Any, make_run: MakeRun, tmp_path: Any
) -> None:
    from maestro.app import create_app

    app = create_app(settings.model_copy(update={"waiver_max_days": 3}), database=maestro_store)
    clock = install_clock(app)
    with TestClient(app) as client:
        run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
        body = waiver_body(run_id=run_id, expires_at=iso(clock.at + timedelta(days=3, seconds=1)))
        assert _refusal(client, body) == ("expires_at", "is more than 3 days ahead (MAESTRO_WAIVER_MAX_DAYS)")
        body["expires_at"] = iso(clock.at + timedelta(days=3))
        assert client.post("/maestro/waivers", json=body).status_code == 201


def test_another_tenants_run_is_as_unknown_as_a_missing_one(
    client: TestClient, maestro_store: Database, until: str
) -> None:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=alpha).json()["id"]
    foreign = client.post("/maestro/waivers", json=waiver_body(run_id=run_id, expires_at=until), headers=beta)
    missing = client.post(
        "/maestro/waivers", json=waiver_body(run_id="x" * 36, expires_at=until), headers=beta
    )
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json()["detail"].replace(run_id, "ID") == missing.json()["detail"].replace("x" * 36, "ID")
    assert foreign.json()["errors"][0]["field"] == "run_id"


def test_another_tenants_waiver_is_not_found(client: TestClient, maestro_store: Database, until: str) -> None:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    waiver = create(client, alpha, match={"owner": "ci"}, expires_at=until)
    for request in (
        lambda h: client.get(f"/maestro/waivers/{waiver['id']}", headers=h),
        lambda h: client.post(f"/maestro/waivers/{waiver['id']}/revoke", headers=h),
    ):
        answer = request(beta)
        assert answer.status_code == 404
        assert answer.json() == {"detail": "Waiver not found", "error": "waiver_not_found"}
    assert client.get("/maestro/waivers", headers=beta).json() == []
    kept = client.get(f"/maestro/waivers/{waiver['id']}", headers=alpha).json()
    assert kept["revoked_at"] is None
    assert kept["created_by"] != "local"  # the token's id


def test_revoking_keeps_the_waiver_and_its_first_revocation(
    client: TestClient, make_run: MakeRun, clock: Clock, until: str
) -> None:
    waiver = create(client, run_id=make_run()["id"], expires_at=until)
    revoked_at = clock.advance(hours=1)
    first = client.post(f"/maestro/waivers/{waiver['id']}/revoke")
    assert first.status_code == 200
    assert first.json() == {**waiver, "revoked_at": iso(revoked_at), "revoked_by": "local", "active": False}
    clock.advance(hours=1)
    again = client.post(f"/maestro/waivers/{waiver['id']}/revoke")
    assert again.json() == first.json()
    assert client.get(f"/maestro/waivers/{waiver['id']}").json() == first.json()
    assert client.post("/maestro/waivers/nope/revoke").status_code == 404


def test_list_filters_and_pages(client: TestClient, make_run: MakeRun, clock: Clock) -> None:
    run_id, other = make_run()["id"], make_run()["id"]
    short = create(client, run_id=run_id, expires_at=iso(clock.at + timedelta(hours=1)))
    clock.advance(seconds=1)
    long = create(client, rule="run-succeeded", run_id=run_id, expires_at=iso(clock.at + timedelta(days=2)))
    clock.advance(seconds=1)
    revoked = create(client, match={"owner": "ci"}, expires_at=iso(clock.at + timedelta(days=2)))
    client.post(f"/maestro/waivers/{revoked['id']}/revoke")
    clock.advance(seconds=1)
    elsewhere = create(client, run_id=other, expires_at=iso(clock.at + timedelta(days=2)))
    clock.advance(hours=2)  # the first has expired

    def ids(**params: str) -> list[str]:
        response = client.get("/maestro/waivers", params=params)
        assert response.status_code == 200, response.text
        return [w["id"] for w in response.json()]

    assert ids() == [elsewhere["id"], revoked["id"], long["id"], short["id"]]  # newest first
    assert ids(order="asc") == [short["id"], long["id"], revoked["id"], elsewhere["id"]]
    assert ids(rule="run-succeeded") == [long["id"]]
    assert ids(run_id=run_id) == [long["id"], short["id"]]
    assert ids(active="true") == [elsewhere["id"], long["id"]]
    assert ids(active="false") == [revoked["id"], short["id"]]
    assert ids(active="false", run_id=run_id) == [short["id"]]
    first = client.get("/maestro/waivers", params={"limit": 3})
    assert len(first.json()) == 3
    rest = client.get(first.links["next"]["url"]).json()
    assert [w["id"] for w in rest] == [short["id"]]
    assert client.get("/maestro/waivers", params={"active": "maybe"}).status_code == 422
    assert client.get("/maestro/waivers", params={"rule": "a b"}).status_code == 422


def test_creating_and_revoking_are_audited(client: TestClient, make_run: MakeRun, until: str) -> None:
    waiver = create(client, run_id=make_run()["id"], expires_at=until)
    client.post(f"/maestro/waivers/{waiver['id']}/revoke")
    client.post(f"/maestro/waivers/{waiver['id']}/revoke")  # changes nothing: no event
    log = client.get("/maestro/audit", params={"object_type": "waiver"}).json()
    events = [(e["event"]["action"], e["event"]["object"]["id"]) for e in log]
    assert events == [("waiver.create", waiver["id"]), ("waiver.revoke", waiver["id"])]


def test_roles(client: TestClient, maestro_store: Database, until: str) -> None:
    admin = bearer(issue(maestro_store, Role.ADMIN))
    writer = bearer(issue(maestro_store, Role.WRITER))
    viewer = bearer(issue(maestro_store, Role.VIEWER))
    run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=writer).json()["id"]
    body = waiver_body(run_id=run_id, expires_at=until)
    assert client.post("/maestro/waivers", json=body, headers=writer).status_code == 403
    assert client.post("/maestro/waivers", json=body, headers=viewer).status_code == 403
    waiver = create(client, admin, run_id=run_id, expires_at=until)
    assert client.get(f"/maestro/waivers/{waiver['id']}", headers=viewer).status_code == 200
    assert client.get("/maestro/waivers", headers=viewer).status_code == 200
    assert client.post(f"/maestro/waivers/{waiver['id']}/revoke", headers=writer).status_code == 403
    assert client.post(f"/maestro/waivers/{waiver['id']}/revoke", headers=admin).status_code == 200
