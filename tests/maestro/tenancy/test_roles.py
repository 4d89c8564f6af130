"""The role table covers every route, and every route is guarded by it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from maestro.app import create_app
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.tenancy import auth
from maestro.tenancy.roles import OPEN_MOUNTS, OPEN_ROUTES, ROUTE_ROLES, Role, is_open, required_role
from tests.maestro.tenancy.helpers import bearer, issue

# Listed before their routes land (the audit log is built alongside): not stale entries.
ADDED_ALONGSIDE = {
    ("GET", "/maestro/audit"),
    ("GET", "/maestro/audit/checkpoint"),
    ("GET", "/maestro/audit/proofs/inclusion"),
    ("GET", "/maestro/audit/proofs/consistency"),
    ("GET", "/maestro/keys"),
}


def _operations(app: FastAPI) -> Iterator[tuple[str, str]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            assert context.path in OPEN_MOUNTS, f"mount {context.path} is not declared open"
            continue
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                yield method, str(context.path)


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    directory = tmp_path_factory.mktemp("roles")
    return create_app(Settings(database_url=f"sqlite:///{directory / 'm.db'}", data_dir=directory))


def test_every_route_is_in_the_table_or_open(bare_app: FastAPI) -> None:
    missing = [op for op in _operations(bare_app) if op not in ROUTE_ROLES and op not in OPEN_ROUTES]
    assert missing == [], f"add these to maestro.tenancy.roles.ROUTE_ROLES: {missing}"


def test_the_table_lists_no_route_that_is_gone(bare_app: FastAPI) -> None:
    present = set(_operations(bare_app))
    stale = set(ROUTE_ROLES) - present - ADDED_ALONGSIDE
    assert stale == set()
    assert set(OPEN_ROUTES) <= present


def test_no_route_is_both_open_and_guarded() -> None:
    assert set(ROUTE_ROLES).isdisjoint(OPEN_ROUTES)


def test_every_api_route_carries_the_auth_dependency(bare_app: FastAPI) -> None:
    for context in iter_route_contexts(bare_app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            calls = [d.call for d in context.dependant.dependencies]
            assert auth.require_principal in calls, context.path


def test_the_roles_are_ordered() -> None:
    assert Role.VIEWER < Role.WRITER < Role.ADMIN
    assert Role.ADMIN > Role.WRITER >= Role.WRITER > Role.VIEWER
    assert sorted([Role.ADMIN, Role.VIEWER, Role.WRITER]) == [Role.VIEWER, Role.WRITER, Role.ADMIN]
    assert Role.ADMIN.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.WRITER)


def test_the_documented_defaults() -> None:
    assert required_role("HEAD", "/maestro/runs") is Role.VIEWER
    assert required_role("POST", "/maestro/artifacts") is Role.WRITER
    assert required_role("DELETE", "/maestro/trusted-keys/{key_id}") is Role.ADMIN
    assert required_role("GET", "/maestro/audit") is Role.ADMIN
    assert is_open("HEAD", "/healthz")
    assert not is_open("POST", "/healthz")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-7000-8000-000000000000", path)


def _guarded(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(op for op in _operations(app) if op in ROUTE_ROLES)


def test_every_guarded_route_refuses_a_request_without_a_token(
    client: TestClient, app: FastAPI, maestro_store: Database
) -> None:
    issue(maestro_store)  # a token exists: local mode is over
    for method, path in _guarded(app):
        response = client.request(method, _concrete(path))
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", list(Role))
def test_the_role_matrix(role: Role, client: TestClient, app: FastAPI, maestro_store: Database) -> None:
    """Below the route's role: 403 naming the role. At or above it: past authorization
    (whatever the handler answers to an empty request, it is neither 401 nor 403)."""
    token = issue(maestro_store, role)
    for method, path in _guarded(app):
        needed = ROUTE_ROLES[(method, path)]
        response = client.request(method, _concrete(path), headers=bearer(token))
        if role.allows(needed):
            assert response.status_code not in (401, 403), (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            detail = f"This request needs role {needed.value} (or higher); the token has role {role.value}"
            assert response.json() == {"detail": detail, "error": "forbidden"}


def test_open_routes_need_nothing(client: TestClient, maestro_store: Database) -> None:
    issue(maestro_store)
    for path in ("/", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/docs/assets/favicon.png"):
        assert client.get(path).status_code == 200, path
