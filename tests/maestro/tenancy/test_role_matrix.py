"""The role matrix, generated from ``maestro.tenancy.roles.ROUTE_ROLES``: every route with
a valid request (``REQUESTS``), sent with a token of every role.

At or above the route's role the request succeeds with the route's documented status;
below it the answer is a 403 whose body names the role needed, and exactly one
``auth.denied`` event (status 403, that token, that request id) joins the tenant's
audit log. A route added to the role table without a request here fails
``test_every_route_has_a_request``. Then the credential cases on a representative set
of routes: each is a 401 with ``WWW-Authenticate: Bearer`` and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.tenancy import token_format
from maestro.tenancy.contract import TokenSecret
from maestro.tenancy.roles import ROUTE_ROLES, Role
from tests.maestro.tenancy.helpers import bearer, issue
from tests.maestro.tenancy.world import SHARED_COMPONENT, World, build_world, expect, new_pem

TENANT = "default"  # its admins manage tenants, so every route has a success to reach


@dataclass
class Call:
    """A valid request for a route, and the statuses that mean it succeeded."""

    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    ok: tuple[int, ...] = (200,)


@dataclass
class Setup:
    """What requests act on: the tenant's objects, and fresh ones for requests that use
    one up (a delete, a first upload)."""

    client: TestClient
    db: Database
    world: World

    def fresh_artifact(self) -> str:
        body = {"run_id": self.world.runs[0]["id"], "kind": "build_log", "path_or_uri": "file:///log"}
        return str(
            expect(self.client.post("/maestro/artifacts", json=body, headers=self.world.admin), 201)["id"]
        )

    def fresh_key(self) -> str:
        body = {"name": f"key {uuid.uuid4()}", "pem": new_pem()}
        return str(
            expect(self.client.post("/maestro/trusted-keys", json=body, headers=self.world.admin), 201)["id"]
        )


def _policy(s: Setup) -> str:
    body = {"name": f"p-{uuid.uuid4().hex[:12]}", "kind": "builtin", "builtin": "seed-default"}
    return str(expect(s.client.post("/maestro/policies", json=body, headers=s.world.admin), 201)["id"])


def _assignment(s: Setup) -> str:
    body = {"policy_id": _policy(s), "owner": f"o-{uuid.uuid4().hex[:12]}"}
    return str(
        expect(s.client.post("/maestro/policy-assignments", json=body, headers=s.world.admin), 201)["id"]
    )


def _run(s: Setup, n: int = 0) -> str:
    return str(s.world.runs[n]["id"])


def _artifact(s: Setup, n: int = 0) -> str:
    return str(s.world.artifacts[n]["id"])


def _week() -> str:
    return (datetime.now(UTC) + timedelta(days=7)).isoformat()


REQUESTS: dict[tuple[str, str], Callable[[Setup], Call]] = {
    ("POST", "/maestro/runs"): lambda s: Call(
        "/maestro/runs", {"json": {"name": "matrix", "owner": "ci"}}, (201,)
    ),
    ("GET", "/maestro/runs"): lambda s: Call("/maestro/runs"),
    ("GET", "/maestro/runs/{run_id}"): lambda s: Call(f"/maestro/runs/{_run(s)}"),
    ("PATCH", "/maestro/runs/{run_id}"): lambda s: Call(
        f"/maestro/runs/{_run(s)}", {"json": {"metadata": {"seen": "yes"}}}
    ),
    ("GET", "/maestro/runs/{run_id}/manifest"): lambda s: Call(f"/maestro/runs/{_run(s)}/manifest"),
    ("GET", "/maestro/runs/{run_id}/release-gate"): lambda s: Call(f"/maestro/runs/{_run(s)}/release-gate"),
    ("GET", "/maestro/runs/{run_id}/gate-evaluations"): lambda s: Call(
        f"/maestro/runs/{_run(s)}/gate-evaluations"
    ),
    ("GET", "/maestro/runs/{base_run_id}/sbom-diff/{head_run_id}"): lambda s: Call(
        f"/maestro/runs/{_run(s)}/sbom-diff/{_run(s, 1)}"
    ),
    ("POST", "/maestro/artifacts"): lambda s: Call(
        "/maestro/artifacts",
        {"json": {"run_id": _run(s), "kind": "build_log", "path_or_uri": "file:///matrix"}},
        (201,),
    ),
    ("GET", "/maestro/artifacts"): lambda s: Call("/maestro/artifacts"),
    ("GET", "/maestro/artifacts/{artifact_id}"): lambda s: Call(f"/maestro/artifacts/{_artifact(s)}"),
    ("GET", "/maestro/artifacts/{artifact_id}/evidence"): lambda s: Call(
        f"/maestro/artifacts/{_artifact(s)}/evidence"
    ),
    ("GET", "/maestro/artifacts/{artifact_id}/evidence/members"): lambda s: Call(
        f"/maestro/artifacts/{_artifact(s, 1)}/evidence/members"
    ),
    ("GET", "/maestro/artifacts/{artifact_id}/components"): lambda s: Call(
        f"/maestro/artifacts/{_artifact(s)}/components"
    ),
    ("PUT", "/maestro/artifacts/{artifact_id}/content"): lambda s: Call(
        f"/maestro/artifacts/{s.fresh_artifact()}/content", {"content": b"a build log\n"}, (201,)
    ),
    ("GET", "/maestro/artifacts/{artifact_id}/content"): lambda s: Call(
        f"/maestro/artifacts/{_artifact(s)}/content"
    ),
    ("POST", "/maestro/disclosure-packs"): lambda s: Call(
        "/maestro/disclosure-packs", {"json": {"run_id": _run(s), "summary": "matrix"}}, (201,)
    ),
    ("GET", "/maestro/disclosure-packs"): lambda s: Call("/maestro/disclosure-packs"),
    ("GET", "/maestro/disclosure-packs/{pack_id}"): lambda s: Call(
        f"/maestro/disclosure-packs/{s.world.packs[0]['id']}"
    ),
    ("GET", "/maestro/disclosure-packs/{pack_id}/export"): lambda s: Call(
        f"/maestro/disclosure-packs/{s.world.packs[0]['id']}/export"
    ),
    ("GET", "/maestro/components"): lambda s: Call(
        "/maestro/components", {"params": {"name": SHARED_COMPONENT}}
    ),
    ("POST", "/maestro/trusted-keys"): lambda s: Call(
        "/maestro/trusted-keys", {"json": {"name": f"key {uuid.uuid4()}", "pem": new_pem()}}, (201,)
    ),
    ("GET", "/maestro/trusted-keys"): lambda s: Call("/maestro/trusted-keys"),
    ("GET", "/maestro/trusted-keys/{key_id}"): lambda s: Call(f"/maestro/trusted-keys/{s.world.key['id']}"),
    ("DELETE", "/maestro/trusted-keys/{key_id}"): lambda s: Call(
        f"/maestro/trusted-keys/{s.fresh_key()}", ok=(204,)
    ),
    ("POST", "/maestro/tokens"): lambda s: Call(
        "/maestro/tokens", {"json": {"tenant_id": TENANT, "role": "viewer", "name": "matrix"}}, (201,)
    ),
    ("GET", "/maestro/tokens"): lambda s: Call("/maestro/tokens"),
    ("DELETE", "/maestro/tokens/{token_id}"): lambda s: Call(
        f"/maestro/tokens/{issue(s.db, Role.VIEWER, TENANT).id}"
    ),
    ("POST", "/maestro/tenants"): lambda s: Call(
        "/maestro/tenants", {"json": {"id": f"t-{uuid.uuid4().hex[:12]}", "name": "matrix"}}, (201,)
    ),
    ("GET", "/maestro/tenants"): lambda s: Call("/maestro/tenants"),
    ("GET", "/maestro/audit"): lambda s: Call("/maestro/audit"),
    ("GET", "/maestro/audit/checkpoint"): lambda s: Call("/maestro/audit/checkpoint"),
    ("GET", "/maestro/audit/proofs/inclusion"): lambda s: Call(
        "/maestro/audit/proofs/inclusion", {"params": {"index": 0, "size": 2}}
    ),
    ("GET", "/maestro/audit/proofs/consistency"): lambda s: Call(
        "/maestro/audit/proofs/consistency", {"params": {"from": 1, "to": 2}}
    ),
    ("GET", "/maestro/keys"): lambda s: Call("/maestro/keys"),
    ("POST", "/maestro/waivers"): lambda s: Call(
        "/maestro/waivers",
        {"json": {"rule": "run-succeeded", "run_id": _run(s), "reason": "matrix", "expires_at": _week()}},
        (201,),
    ),
    ("GET", "/maestro/waivers"): lambda s: Call("/maestro/waivers"),
    ("GET", "/maestro/waivers/{waiver_id}"): lambda s: Call(f"/maestro/waivers/{s.world.waivers[0]['id']}"),
    ("POST", "/maestro/waivers/{waiver_id}/revoke"): lambda s: Call(
        f"/maestro/waivers/{s.world.waivers[1]['id']}/revoke"  # revoking again answers the same
    ),
    ("GET", "/maestro/runs/{run_id}/lineage"): lambda s: Call(f"/maestro/runs/{_run(s)}/lineage"),
    ("POST", "/maestro/policies"): lambda s: Call(
        "/maestro/policies",
        {"json": {"name": f"p-{uuid.uuid4().hex[:12]}", "kind": "builtin", "builtin": "seed-default"}},
        (201,),
    ),
    ("GET", "/maestro/policies"): lambda s: Call("/maestro/policies"),
    ("GET", "/maestro/policies/{policy_id}"): lambda s: Call(f"/maestro/policies/{_policy(s)}"),
    ("GET", "/maestro/policies/{policy_id}/versions"): lambda s: Call(
        f"/maestro/policies/{_policy(s)}/versions"
    ),
    ("POST", "/maestro/policies/{policy_id}/dry-run"): lambda s: Call(
        f"/maestro/policies/{_policy(s)}/dry-run", {"json": {"limit": 10}}
    ),
    ("POST", "/maestro/policy-assignments"): lambda s: Call(
        "/maestro/policy-assignments",
        {"json": {"policy_id": _policy(s), "owner": f"o-{uuid.uuid4().hex[:12]}"}},
        (201,),
    ),
    ("GET", "/maestro/policy-assignments"): lambda s: Call("/maestro/policy-assignments"),
    ("GET", "/maestro/policy-assignments/{assignment_id}"): lambda s: Call(
        f"/maestro/policy-assignments/{_assignment(s)}"
    ),
    ("DELETE", "/maestro/policy-assignments/{assignment_id}"): lambda s: Call(
        f"/maestro/policy-assignments/{_assignment(s)}", ok=(204,)
    ),
}


@pytest.fixture(scope="module")
def setup(module_client: TestClient, module_store: Database) -> Setup:
    return Setup(module_client, module_store, build_world(module_client, module_store, TENANT))


def _token(s: Setup, role: Role) -> TokenSecret:
    return {
        Role.ADMIN: s.world.admin_token,
        Role.WRITER: s.world.writer_token,
        Role.VIEWER: s.world.viewer_token,
    }[role]


def _log_size(s: Setup) -> int:
    """The log's size once the gate evaluator has judged every change so far (a read of
    recorded verdicts catches it up), so only the request under test can grow it."""
    settle = s.client.get(f"/maestro/runs/{_run(s)}/gate-evaluations", headers=s.world.admin)
    assert settle.status_code == 200, settle.text
    headers = {**s.world.admin, "Accept": "application/json"}
    return int(expect(s.client.get("/maestro/audit/checkpoint", headers=headers), 200)["size"])


def _denials(s: Setup, token_id: str) -> list[dict[str, Any]]:
    params = {"action": "auth.denied", "actor": token_id, "limit": 1000}
    response = s.client.get("/maestro/audit", params=params, headers=s.world.admin)
    assert response.status_code == 200, response.text
    assert "link" not in response.headers, "one page holds them all"
    return [item["event"] for item in response.json()]


def _name(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


def test_every_route_has_a_request() -> None:
    missing = sorted(set(ROUTE_ROLES) - set(REQUESTS))
    assert missing == [], f"add a valid request for these routes to REQUESTS: {missing}"
    assert sorted(set(REQUESTS) - set(ROUTE_ROLES)) == []


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("route", sorted(ROUTE_ROLES), ids=_name)
def test_the_role_matrix(route: tuple[str, str], role: Role, setup: Setup) -> None:
    needed = ROUTE_ROLES[route]
    call = REQUESTS[route](setup)
    token = _token(setup, role)
    if role.allows(needed):
        response = setup.client.request(route[0], call.url, headers=bearer(token), **call.kwargs)
        assert response.status_code in call.ok, (role, response.status_code, response.text)
        return
    _assert_denied_once(
        setup,
        token,
        needed,
        lambda: setup.client.request(route[0], call.url, headers=bearer(token), **call.kwargs),
    )


def _assert_denied_once(
    s: Setup, token: TokenSecret, needed: Role, send: Callable[[], httpx.Response]
) -> None:
    """``send()`` is answered 403 naming ``needed``, and leaves one auth.denied event, no other."""
    role = token.role
    size, denied = _log_size(s), len(_denials(s, token.id))
    response = send()
    assert response.status_code == 403, response.text
    detail = f"This request needs role {needed.value} (or higher); the token has role {role.value}"
    assert response.json() == {"detail": detail, "error": "forbidden"}
    assert _log_size(s) == size + 1, "exactly one event for the denial, and nothing else"
    events = _denials(s, token.id)
    assert len(events) == denied + 1
    assert events[-1]["status"] == 403
    assert events[-1]["request_id"] == response.headers["x-request-id"]
    assert events[-1]["actor"] == {"token_id": token.id, "role": role.value}


def _multipart(s: Setup) -> dict[str, Any]:
    meta = f'{{"run_id": "{_run(s)}", "kind": "build_log", "path_or_uri": "file:///multipart"}}'
    return {"data": {"artifact": meta}, "files": {"file": ("log.txt", b"a log\n")}}


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_a_multipart_upload_needs_the_writer_role_too(role: Role, setup: Setup) -> None:
    """The multipart form of POST /maestro/artifacts has a handler of its own: it once
    ran without the route's guards (no token needed, and tenant default's data)."""
    token = _token(setup, role)

    def send() -> httpx.Response:
        return setup.client.post("/maestro/artifacts", headers=bearer(token), **_multipart(setup))

    if role.allows(Role.WRITER):
        response = send()
        assert response.status_code == 201, response.text
        assert response.json()["content"] is not None
    else:
        _assert_denied_once(setup, token, Role.WRITER, send)


# ------------------------------------------------------------------ credentials

REPRESENTATIVE = [
    ("GET", "/maestro/runs"),
    ("POST", "/maestro/runs"),
    ("GET", "/maestro/runs/{run_id}"),
    ("PATCH", "/maestro/runs/{run_id}"),
    ("POST", "/maestro/artifacts"),
    ("GET", "/maestro/artifacts/{artifact_id}/content"),
    ("DELETE", "/maestro/trusted-keys/{key_id}"),
    ("POST", "/maestro/tokens"),
    ("GET", "/maestro/audit"),
    ("GET", "/maestro/keys"),
]


def _credentials(s: Setup) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """(case, headers, query parameters): none of them a usable credential."""
    valid = s.world.writer_token.token
    expired = issue(
        s.db, Role.ADMIN, TENANT, now=datetime.now(UTC) - timedelta(days=31), lifetime=timedelta(days=30)
    )
    revoked = issue(s.db, Role.ADMIN, TENANT)
    expect(s.client.delete(f"/maestro/tokens/{revoked.id}", headers=s.world.admin), 200)
    flipped = valid[:-1] + ("A" if valid[-1] != "A" else "B")
    yield "no credential", {}, {}
    yield "basic scheme", {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, {}
    yield "empty bearer", {"Authorization": "Bearer "}, {}
    yield "malformed bearer", {"Authorization": "Bearer not-a-maestro-token"}, {}
    yield "10 KB token", bearer(token_format.PREFIX + "a" * 10 * 1024), {}
    yield "bad checksum", bearer(flipped), {}
    yield "unknown token", bearer(token_format.new_token()), {}
    yield "expired", bearer(expired), {}
    yield "revoked", bearer(revoked), {}
    for name in ("token", "access_token", "api_key"):
        yield f"?{name}= alone", {}, {name: valid}
        yield f"?{name}= beside a good header", bearer(valid), {name: valid}


@pytest.mark.parametrize("route", REPRESENTATIVE, ids=_name)
def test_no_bad_credential_gets_in(route: tuple[str, str], setup: Setup) -> None:
    assert all(r in ROUTE_ROLES for r in REPRESENTATIVE)
    runs = setup.client.get("/maestro/runs", params={"limit": 1000}, headers=setup.world.admin).json()
    call = REQUESTS[route](setup)
    if route == ("POST", "/maestro/artifacts"):
        call.kwargs = _multipart(setup)  # the JSON form is in the role matrix
    for case, headers, params in _credentials(setup):
        url = httpx.URL(call.url).copy_merge_params(params)
        response = setup.client.request(route[0], str(url), headers=headers, **call.kwargs)
        assert response.status_code == 401, (case, response.status_code, response.text)
        assert response.headers.get("www-authenticate") == "Bearer", case
        assert response.json()["error"] == "unauthorized", case
    after = setup.client.get("/maestro/runs", params={"limit": 1000}, headers=setup.world.admin).json()
    assert after == runs, "no run was created or changed"
    if route[0] == "DELETE":
        assert setup.client.get(call.url, headers=setup.world.admin).status_code == 200, "nothing was deleted"
