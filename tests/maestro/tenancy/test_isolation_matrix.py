"""The isolation matrix, generated from ``maestro.tenancy.roles.ROUTE_ROLES``: tenant A's
admin, on every route, against tenant B's objects.

Every route is classified in ``KINDS``; a route added to the role table without a
kind fails ``test_every_route_has_a_kind``, and a path parameter the matrix cannot
fill fails ``test_every_path_parameter_is_known``. Then, per kind:

- by id (read or write): A's answer on B's id is the answer on an id nobody has (status,
  body with the ids masked, content type): a 404, never 403, 412 or 200;
- list: B's ids and strings as A's filters give A an empty list; a cursor B minted
  gives A its own rows or a 4xx;
- create: a body naming B's objects is answered as one naming nothing;
- every answer A gets is scanned for B's ids and strings, and B's audit head and
  objects are unchanged around each of A's requests on B's objects.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.tenancy.roles import ROUTE_ROLES
from tests.maestro.tenancy.leak_scan import Matrix, checkpoint
from tests.maestro.tenancy.world import IDEMPOTENCY_KEY, SHARED_COMPONENT, World, build_world, new_pem

READ, WRITE, LIST, CREATE, OWN_LOG, GLOBAL, SYSTEM = (
    "read",
    "write",
    "list",
    "create",
    "own-log",
    "global",
    "system",
)
KINDS: dict[tuple[str, str], str] = {
    ("POST", "/maestro/runs"): CREATE,
    ("GET", "/maestro/runs"): LIST,
    ("GET", "/maestro/runs/{run_id}"): READ,
    ("PATCH", "/maestro/runs/{run_id}"): WRITE,
    ("GET", "/maestro/runs/{run_id}/manifest"): READ,
    ("GET", "/maestro/runs/{run_id}/release-gate"): READ,
    ("GET", "/maestro/runs/{run_id}/gate-evaluations"): READ,
    ("GET", "/maestro/runs/{base_run_id}/sbom-diff/{head_run_id}"): READ,
    ("POST", "/maestro/artifacts"): CREATE,
    ("GET", "/maestro/artifacts"): LIST,
    ("GET", "/maestro/artifacts/{artifact_id}"): READ,
    ("GET", "/maestro/artifacts/{artifact_id}/evidence"): READ,
    ("GET", "/maestro/artifacts/{artifact_id}/evidence/members"): READ,
    ("GET", "/maestro/artifacts/{artifact_id}/components"): READ,
    ("PUT", "/maestro/artifacts/{artifact_id}/content"): WRITE,
    ("GET", "/maestro/artifacts/{artifact_id}/content"): READ,
    ("POST", "/maestro/disclosure-packs"): CREATE,
    ("GET", "/maestro/disclosure-packs"): LIST,
    ("GET", "/maestro/disclosure-packs/{pack_id}"): READ,
    ("GET", "/maestro/disclosure-packs/{pack_id}/export"): READ,
    ("GET", "/maestro/components"): LIST,
    ("POST", "/maestro/trusted-keys"): CREATE,
    ("GET", "/maestro/trusted-keys"): LIST,
    ("GET", "/maestro/trusted-keys/{key_id}"): READ,
    ("DELETE", "/maestro/trusted-keys/{key_id}"): WRITE,
    ("POST", "/maestro/tokens"): CREATE,
    ("GET", "/maestro/tokens"): LIST,
    ("DELETE", "/maestro/tokens/{token_id}"): WRITE,
    ("POST", "/maestro/tenants"): SYSTEM,  # tenant `default`'s admins only: 403 to every other
    ("GET", "/maestro/tenants"): SYSTEM,
    ("GET", "/maestro/audit"): LIST,
    ("GET", "/maestro/audit/checkpoint"): OWN_LOG,  # the caller's own log, whatever it asks
    ("GET", "/maestro/audit/proofs/inclusion"): OWN_LOG,
    ("GET", "/maestro/audit/proofs/consistency"): OWN_LOG,
    ("GET", "/maestro/keys"): GLOBAL,  # the server's public keys: the same answer to everyone
    ("POST", "/maestro/waivers"): CREATE,
    ("GET", "/maestro/waivers"): LIST,
    ("GET", "/maestro/waivers/{waiver_id}"): READ,
    ("POST", "/maestro/waivers/{waiver_id}/revoke"): WRITE,
    ("GET", "/maestro/runs/{run_id}/lineage"): READ,
    ("POST", "/maestro/policies"): CREATE,
    ("GET", "/maestro/policies"): LIST,
    ("GET", "/maestro/policies/{policy_id}"): READ,
    ("GET", "/maestro/policies/{policy_id}/versions"): READ,
    ("POST", "/maestro/policies/{policy_id}/dry-run"): WRITE,  # by id; writes nothing, but a POST
    ("POST", "/maestro/policy-assignments"): CREATE,
    ("GET", "/maestro/policy-assignments"): LIST,
    ("GET", "/maestro/policy-assignments/{assignment_id}"): READ,
    ("DELETE", "/maestro/policy-assignments/{assignment_id}"): WRITE,
}
# Which of a tenant's objects a path parameter names (``World.object_id``).
PARAMS = {
    "run_id": "run",
    "base_run_id": "run",
    "head_run_id": "run",
    "artifact_id": "artifact",
    "pack_id": "pack",
    "key_id": "trusted_key",
    "token_id": "token",
    "waiver_id": "waiver",
    "policy_id": "policy",
    "assignment_id": "assignment",
}
# Where a route needs another object of the kind (an archive has members).
PARAM_OVERRIDES = {("GET", "/maestro/artifacts/{artifact_id}/evidence/members"): {"artifact_id": "archive"}}
# The change each by-id write attempts.
WRITE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/maestro/runs/{run_id}"): {
        "json": {"status": "cancelled", "name": "renamed by another tenant"}
    },
    ("PUT", "/maestro/artifacts/{artifact_id}/content"): {"content": b"bytes from another tenant"},
    ("DELETE", "/maestro/trusted-keys/{key_id}"): {},
    ("DELETE", "/maestro/tokens/{token_id}"): {},
    ("POST", "/maestro/waivers/{waiver_id}/revoke"): {},
    ("DELETE", "/maestro/policy-assignments/{assignment_id}"): {},
    ("POST", "/maestro/policies/{policy_id}/dry-run"): {"json": {}},
}
# For each list: (query parameter, the value it takes from a tenant's world).
FILTERS: dict[tuple[str, str], list[tuple[str, Callable[[World], str]]]] = {
    ("GET", "/maestro/runs"): [
        ("owner", lambda w: w.runs[0]["owner"]),
        ("entity_id", lambda w: w.runs[0]["related_entity_ids"][0]),
        ("decision_id", lambda w: w.runs[0]["related_decision_ids"][0]),
    ],
    ("GET", "/maestro/artifacts"): [("run_id", lambda w: w.runs[0]["id"])],
    ("GET", "/maestro/disclosure-packs"): [("run_id", lambda w: w.runs[0]["id"])],
    ("GET", "/maestro/components"): [
        ("purl", lambda w: f"pkg:pypi/{w.tenant}-secret-lib1"),
        ("name", lambda w: f"{w.tenant}-secret-lib0"),
    ],
    ("GET", "/maestro/trusted-keys"): [],
    ("GET", "/maestro/tokens"): [("tenant_id", lambda w: w.tenant)],
    ("GET", "/maestro/audit"): [
        ("object_id", lambda w: w.runs[0]["id"]),
        ("actor", lambda w: w.admin_token.id),
    ],
    ("GET", "/maestro/waivers"): [
        ("run_id", lambda w: w.runs[0]["id"]),
        ("rule", lambda w: w.waivers[0]["rule"]),
    ],
    ("GET", "/maestro/policies"): [],
    ("GET", "/maestro/policy-assignments"): [],
}
# What a list needs to list everything (a component search names a package).
UNFILTERED = {("GET", "/maestro/components"): {"name": SHARED_COMPONENT}}
# For each route with a cursor: a URL listing a tenant's rows, more than one (limit=1 pages).
CURSOR_URLS: dict[tuple[str, str], Callable[[World], str]] = {
    ("GET", "/maestro/runs"): lambda w: "/maestro/runs",
    ("GET", "/maestro/artifacts"): lambda w: "/maestro/artifacts",
    ("GET", "/maestro/disclosure-packs"): lambda w: "/maestro/disclosure-packs",
    ("GET", "/maestro/components"): lambda w: f"/maestro/components?name={SHARED_COMPONENT}",
    ("GET", "/maestro/audit"): lambda w: "/maestro/audit",
    ("GET", "/maestro/waivers"): lambda w: "/maestro/waivers",
    ("GET", "/maestro/runs/{run_id}/manifest"): lambda w: f"/maestro/runs/{w.runs[0]['id']}/manifest",
    ("GET", "/maestro/runs/{run_id}/gate-evaluations"): (
        lambda w: f"/maestro/runs/{w.runs[0]['id']}/gate-evaluations"
    ),
    ("GET", "/maestro/artifacts/{artifact_id}/evidence/members"): (
        lambda w: f"/maestro/artifacts/{w.artifacts[1]['id']}/evidence/members"
    ),
    ("GET", "/maestro/artifacts/{artifact_id}/components"): (
        lambda w: f"/maestro/artifacts/{w.artifacts[0]['id']}/components"
    ),
    ("GET", "/maestro/policies"): lambda w: "/maestro/policies",
    ("GET", "/maestro/policy-assignments"): lambda w: "/maestro/policy-assignments",
}
_PARAM = re.compile(r"\{([^}]+)\}")


def _routes(kind: str) -> list[tuple[str, str]]:
    return sorted(route for route, k in KINDS.items() if k == kind)


def _name(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


@pytest.fixture(scope="module")
def matrix(module_client: TestClient, module_store: Database) -> Matrix:
    a = build_world(module_client, module_store, "alpha")
    # B's log is the longer one (by more than A's requests here add to A's), and B used an
    # Idempotency-Key that A then tries.
    b = build_world(module_client, module_store, "beta", extra_runs=15, idempotency_key=IDEMPOTENCY_KEY)
    root = checkpoint(module_client, b)
    secrets = b.secrets() | {root["root_hash"], root["note"].splitlines()[2], "/audit/beta"}
    return Matrix(module_client, a, b, secrets)


def _absent() -> str:
    return str(uuid.uuid4())


def _fill(route: tuple[str, str], ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: ids[m.group(1)], route[1])


def _ids_of(world: World, route: tuple[str, str]) -> dict[str, str]:
    kinds = {**PARAMS, **PARAM_OVERRIDES.get(route, {})}
    return {p: world.object_id(kinds[p]) for p in _PARAM.findall(route[1])}


def _masked(response: httpx.Response, ids: list[str]) -> tuple[int, str, str]:
    text = response.text
    for value in ids:
        text = text.replace(value, "<id>")
    return response.status_code, response.headers.get("content-type", ""), text


# ------------------------------------------------------------------ coverage of the table


def test_every_route_has_a_kind() -> None:
    missing = sorted(set(ROUTE_ROLES) - set(KINDS))
    assert missing == [], (
        f"classify these routes in KINDS (tests/maestro/tenancy/test_isolation_matrix.py): {missing}"
    )
    assert sorted(set(KINDS) - set(ROUTE_ROLES)) == []


def test_every_path_parameter_is_known() -> None:
    unknown = sorted(
        (_name(route), p) for route in ROUTE_ROLES for p in _PARAM.findall(route[1]) if p not in PARAMS
    )
    assert unknown == [], f"add these path parameters to PARAMS: {unknown}"
    no_params = [_name(r) for r in _routes(READ) + _routes(WRITE) if not _PARAM.findall(r[1])]
    assert no_params == [], "a by-id route names an object in its path"


def test_every_kind_has_its_table() -> None:
    assert sorted(_routes(WRITE)) == sorted(WRITE_BODIES)
    assert sorted(_routes(LIST)) == sorted(FILTERS)
    assert sorted(_routes(CREATE)) == sorted(CREATES)


def _query_names(dependant: Any) -> Iterator[str]:
    yield from (p.alias for p in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)


def test_every_paged_route_gets_a_foreign_cursor(module_app: FastAPI) -> None:
    paged = {
        (method, str(c.path))
        for c in iter_route_contexts(module_app.routes)
        if isinstance(c.original_route, APIRoute) and "cursor" in set(_query_names(c.dependant))
        for method in c.methods or ()
    }
    assert sorted(paged) == sorted(CURSOR_URLS)


# ------------------------------------------------------------------ by id


def _variants(
    route: tuple[str, str], m: Matrix
) -> Iterator[tuple[dict[str, str], dict[str, str], list[str]]]:
    """(B's ids in some parameters, A's in the rest), the same with absent ids, and the ids to mask."""
    a_ids, b_ids = _ids_of(m.a, route), _ids_of(m.b, route)
    params = list(a_ids)
    choices = [[p] for p in params] + ([params] if len(params) > 1 else [])
    for foreign in choices:
        absent = {p: _absent() for p in foreign}
        yield (
            {**a_ids, **{p: b_ids[p] for p in foreign}},
            {**a_ids, **absent},
            [b_ids[p] for p in foreign] + list(absent.values()),
        )


@pytest.mark.parametrize("route", _routes(READ) + _routes(WRITE), ids=_name)
def test_another_tenants_object_is_answered_as_absent(route: tuple[str, str], matrix: Matrix) -> None:
    body = WRITE_BODIES.get(route, {})
    methods = [route[0], "HEAD"] if route[0] == "GET" else [route[0]]
    for method in methods:
        for foreign, absent, mask in _variants(route, matrix):
            on_b = matrix.on_b(method, _fill(route, foreign), **body)
            nobody = matrix.as_a(method, _fill(route, absent), **body)
            assert on_b.status_code == 404, (method, foreign, on_b.status_code, on_b.text)
            assert _masked(on_b, mask) == _masked(nobody, mask)
    method = route[0]
    if method == "GET":
        own = matrix.as_a(method, _fill(route, _ids_of(matrix.a, route)))
        assert own.status_code == 200, f"the same route answers A's own object: {own.text}"


@pytest.mark.parametrize("etag", ['"v1"', '"v99"', "*", 'W/"v1", "v2"'])
def test_if_match_on_another_tenants_run_is_404_not_412(etag: str, matrix: Matrix) -> None:
    b_run = matrix.b.runs[0]["id"]
    on_b = matrix.on_b(
        "PATCH", f"/maestro/runs/{b_run}", json={"status": "running"}, headers={"If-Match": etag}
    )
    assert on_b.status_code == 404, on_b.text
    absent = _absent()
    nobody = matrix.as_a(
        "PATCH", f"/maestro/runs/{absent}", json={"status": "running"}, headers={"If-Match": etag}
    )
    assert _masked(on_b, [b_run, absent]) == _masked(nobody, [b_run, absent])


# ------------------------------------------------------------------ lists and cursors


@pytest.mark.parametrize("route", _routes(LIST), ids=_name)
def test_another_tenants_filters_give_an_empty_list(route: tuple[str, str], matrix: Matrix) -> None:
    everything = matrix.as_a("GET", route[1], params=UNFILTERED.get(route, {}))  # scanned: only A's rows
    assert everything.status_code == 200, everything.text
    assert everything.json() != []
    for param, value_of in FILTERS[route]:
        own = matrix.as_a("GET", route[1], params={param: value_of(matrix.a)})
        assert own.status_code == 200, own.text
        assert own.json() != [], f"A's own {param} finds A's rows"
        theirs = matrix.client.get(route[1], params={param: value_of(matrix.b)}, headers=matrix.b.admin)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json() != [], f"B's own {param} finds B's rows"
        foreign = matrix.on_b("GET", route[1], params={param: value_of(matrix.b)})
        assert (foreign.status_code, foreign.json()) == (200, []), (param, foreign.text)


def _one_per_page(url: str) -> str:
    return str(httpx.URL(url).copy_merge_params({"limit": 1}))


def _cursor(response: httpx.Response) -> str:
    link = response.headers.get("link")
    assert response.status_code == 200, response.text
    assert link, f"B needs a second page here: {response.text}"
    query = httpx.URL(link.split(";")[0].strip("<>")).params
    return str(query["cursor"])


@pytest.mark.parametrize("route", sorted(CURSOR_URLS), ids=_name)
def test_a_cursor_minted_by_another_tenant_shows_only_the_callers_rows(
    route: tuple[str, str], matrix: Matrix
) -> None:
    url_of = CURSOR_URLS[route]
    cursor = _cursor(matrix.client.get(_one_per_page(url_of(matrix.b)), headers=matrix.b.admin))
    response = matrix.on_b("GET", _one_per_page(url_of(matrix.a)), params={"cursor": cursor})
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text


# ------------------------------------------------------------------ creating


def _same_as_absent(m: Matrix, url: str, body_with: Callable[[str], dict[str, Any]], b_id: str) -> None:
    on_b = m.on_b("POST", url, json=body_with(b_id))
    absent = _absent()
    nobody = m.as_a("POST", url, json=body_with(absent))
    assert on_b.status_code in (404, 422), on_b.text
    assert _masked(on_b, [b_id, absent]) == _masked(nobody, [b_id, absent])


def _create_run(m: Matrix) -> None:
    """B's Idempotency-Key replays nothing of B's to A: A's own run is created."""
    body = {"name": m.b.runs[0]["name"].replace("beta", "alpha"), "owner": "alpha-owner@example.com"}
    response = m.on_b("POST", "/maestro/runs", json=body, headers={"Idempotency-Key": IDEMPOTENCY_KEY})
    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers


def _create_artifact(m: Matrix) -> None:
    def body(run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, "kind": "build_log", "path_or_uri": "file:///alpha-log"}

    _same_as_absent(m, "/maestro/artifacts", body, m.b.runs[0]["id"])


def _create_pack(m: Matrix) -> None:
    own_run = m.a.runs[0]["id"]
    _same_as_absent(
        m, "/maestro/disclosure-packs", lambda r: {"run_id": r, "summary": "alpha"}, m.b.runs[0]["id"]
    )
    _same_as_absent(
        m,
        "/maestro/disclosure-packs",
        lambda x: {"run_id": own_run, "summary": "alpha", "artifact_ids": [x]},
        m.b.artifacts[0]["id"],
    )


def _create_trusted_key(m: Matrix) -> None:
    """B's key and B's name are free in A's tenant: no 409 says B has them."""
    key = {"name": m.b.key["name"], "pem": m.b.key_pem}
    response = m.on_b("POST", "/maestro/trusted-keys", json=key, derived=m.b.key["key_id"])  # the PEM's hash
    assert response.status_code == 201, response.text
    assert response.json()["id"] != m.b.key["id"]
    assert m.as_a("DELETE", f"/maestro/trusted-keys/{response.json()['id']}").status_code == 204
    assert (
        m.as_a("POST", "/maestro/trusted-keys", json={"name": "alpha-other", "pem": new_pem()}).status_code
        == 201
    )


def _create_token(m: Matrix) -> None:
    def body(tenant: str) -> dict[str, Any]:
        return {"tenant_id": tenant, "role": "admin", "name": "alpha's try"}

    _same_as_absent(m, "/maestro/tokens", body, m.b.tenant)


def _create_waiver(m: Matrix) -> None:
    """B's run is as unknown as a run nobody has."""
    until = m.a.waivers[0]["expires_at"]

    def body(run_id: str) -> dict[str, Any]:
        return {"rule": "run-succeeded", "run_id": run_id, "reason": "alpha", "expires_at": until}

    _same_as_absent(m, "/maestro/waivers", body, m.b.runs[0]["id"])


def _create_policy(m: Matrix) -> None:
    """B's policy name is free in A's tenant: a new policy of A's, not a version of B's."""
    body = {"name": m.b.policies[0]["name"], "kind": "builtin", "builtin": "seed-default"}
    response = m.on_b("POST", "/maestro/policies", json=body)
    assert response.status_code == 201, response.text
    assert (response.json()["version"], response.json()["id"] != m.b.policies[0]["id"]) == (1, True)


def _create_assignment(m: Matrix) -> None:
    _same_as_absent(m, "/maestro/policy-assignments", lambda p: {"policy_id": p}, m.b.policies[0]["id"])


CREATES: dict[tuple[str, str], Callable[[Matrix], None]] = {
    ("POST", "/maestro/runs"): _create_run,
    ("POST", "/maestro/artifacts"): _create_artifact,
    ("POST", "/maestro/disclosure-packs"): _create_pack,
    ("POST", "/maestro/trusted-keys"): _create_trusted_key,
    ("POST", "/maestro/tokens"): _create_token,
    ("POST", "/maestro/waivers"): _create_waiver,
    ("POST", "/maestro/policies"): _create_policy,
    ("POST", "/maestro/policy-assignments"): _create_assignment,
}


@pytest.mark.parametrize("route", _routes(CREATE), ids=_name)
def test_creating_cannot_reach_another_tenants_objects(route: tuple[str, str], matrix: Matrix) -> None:
    CREATES[route](matrix)


# ------------------------------------------------------------------ the rest


@pytest.mark.parametrize("route", _routes(SYSTEM), ids=_name)
def test_tenant_management_is_refused_outside_the_default_tenant(
    route: tuple[str, str], matrix: Matrix
) -> None:
    body = {"json": {"id": "alpha-made", "name": "x"}} if route[0] == "POST" else {}
    response = matrix.on_b(route[0], route[1], **body)
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("route", _routes(GLOBAL), ids=_name)
def test_global_answers_are_the_same_for_every_tenant(route: tuple[str, str], matrix: Matrix) -> None:
    mine = matrix.as_a(route[0], route[1])
    assert mine.status_code == 200
    assert mine.json() == matrix.client.request(route[0], route[1], headers=matrix.b.admin).json()


def _own_log_requests(m: Matrix) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Requests on A's log that name sizes and indexes only B's log has."""
    a_size, b_size = checkpoint(m.client, m.a)["size"], checkpoint(m.client, m.b)["size"]
    assert a_size < b_size
    return {
        "/maestro/audit/checkpoint": [("application/json", {}), ("text/plain", {})],
        "/maestro/audit/proofs/inclusion": [
            ("application/json", {"index": a_size, "size": b_size}),
            ("application/json", {"index": 0, "size": b_size}),
            ("application/json", {"index": 0, "size": a_size}),
        ],
        "/maestro/audit/proofs/consistency": [
            ("application/json", {"from": a_size, "to": b_size}),
            ("application/json", {"from": 1, "to": a_size}),
        ],
    }


@pytest.mark.parametrize("route", _routes(OWN_LOG), ids=_name)
def test_the_audit_log_answers_from_the_callers_own_log(route: tuple[str, str], matrix: Matrix) -> None:
    """A size only B's log has is answered as a size no log has: nothing says B's is that long."""
    a_size, b_size = (
        checkpoint(matrix.client, matrix.a)["size"],
        checkpoint(matrix.client, matrix.b)["size"],
    )
    for accept, params in _own_log_requests(matrix)[route[1]]:
        response = matrix.on_b("GET", route[1], params=params, headers={"Accept": accept})
        if b_size not in params.values():
            assert response.status_code == 200, (params, response.text)
            continue
        assert response.status_code == 422, (params, response.text)
        huge = {k: 10**9 if v == b_size else v for k, v in params.items()}
        nobody = matrix.as_a("GET", route[1], params=huge, headers={"Accept": accept})
        numbers = [str(b_size), str(10**9)]
        assert _masked(response, numbers) == _masked(nobody, numbers)
        assert a_size < b_size
    assert "/audit/alpha\n" in matrix.as_a("GET", "/maestro/audit/checkpoint").text
