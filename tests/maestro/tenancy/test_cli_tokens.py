"""``maestro tokens``: bootstrap straight into the database; create, list, revoke via the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.config import get_settings
from maestro.db.engine import Database
from maestro.tenancy import token_format
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import bearer, issue
from tests.maestro.test_cli_support import Cli, one_line_error, wire


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cli]:
    runner = wire(client, monkeypatch, tmp_path)
    get_settings.cache_clear()
    yield runner
    get_settings.cache_clear()


@pytest.fixture
def server_db(mcli: Cli, maestro_store: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """``maestro tokens bootstrap`` finds the test database through MAESTRO_DATABASE_URL."""
    monkeypatch.setenv("MAESTRO_DATABASE_URL", maestro_store.engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    return maestro_store


def test_bootstrap_prints_a_working_admin_token(mcli: Cli, server_db: Database, client: TestClient) -> None:
    token = mcli.ok("tokens", "bootstrap", "-q").stdout.strip()
    token_format.check_format(token)
    assert client.get("/maestro/runs").status_code == 401  # local mode is over
    assert client.get("/maestro/tokens", headers=bearer(token)).json()[0]["role"] == "admin"


def test_bootstrap_refuses_while_an_admin_token_works(mcli: Cli, server_db: Database) -> None:
    mcli.ok("tokens", "bootstrap", "-q")
    again = mcli("tokens", "bootstrap", "-q")
    assert again.exit_code == 1
    assert "An admin token already exists" in one_line_error(again)
    forced = mcli.json("tokens", "bootstrap", "--force", "--expires", "2d")
    assert forced["role"] == "admin"
    assert forced["token"].startswith("mae_")


def test_bootstrap_is_allowed_again_when_admins_are_gone(mcli: Cli, server_db: Database) -> None:
    issue(server_db, Role.WRITER)  # no admin: bootstrap still possible
    assert mcli.ok("tokens", "bootstrap", "-q").stdout.startswith("mae_")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expires", "400d"], "more than 366 days"),
        (["--expires", "soon"], "Nd (days) or Nh (hours)"),
        (["--tenant", "nowhere"], "Tenant 'nowhere' not found"),
    ],
)
def test_bootstrap_refusals(mcli: Cli, server_db: Database, args: list[str], message: str) -> None:
    result = mcli("tokens", "bootstrap", *args)
    assert result.exit_code in (1, 2)
    assert message in result.stderr


def test_create_list_revoke_through_the_api(mcli: Cli, server_db: Database, client: TestClient) -> None:
    admin = mcli.ok("tokens", "bootstrap", "-q").stdout.strip()
    secret = mcli.ok(
        "--token", admin, "tokens", "create", "--role", "viewer", "--name", "ci", "-q"
    ).stdout.strip()
    token_format.check_format(secret)
    listed = mcli.json("--token", admin, "tokens", "list")
    viewer = next(t for t in listed if t["role"] == "viewer")
    assert "token" not in viewer
    assert viewer["name"] == "ci"
    human = mcli.ok("--token", admin, "tokens", "list").stdout
    assert "viewer" in human
    assert secret not in human
    assert client.get("/maestro/runs", headers=bearer(secret)).status_code == 200
    revoked = mcli.json("--token", admin, "tokens", "revoke", viewer["id"])
    assert revoked["revoked_at"] is not None
    assert client.get("/maestro/runs", headers=bearer(secret)).status_code == 401
    denied = mcli("--token", secret, "tokens", "list")
    assert denied.exit_code == 1
    assert "revoked" in one_line_error(denied)


def test_create_shows_the_secret_for_people(mcli: Cli, server_db: Database) -> None:
    admin = mcli.ok("tokens", "bootstrap", "-q").stdout.strip()
    shown = mcli.ok(
        "--token", admin, "tokens", "create", "--role", "writer", "--name", "ci", "--expires", "12h"
    )
    assert "shown once" in shown.stdout
    assert "mae_" in shown.stdout


def test_without_a_token_the_cli_says_what_is_missing(mcli: Cli, server_db: Database) -> None:
    mcli.ok("tokens", "bootstrap", "-q")
    result = mcli("runs", "list")
    assert result.exit_code == 1
    assert "An API token is required" in one_line_error(result)
