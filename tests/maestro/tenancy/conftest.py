"""Module-scoped fixtures for the route matrices: one database, one app and one client
per test module (and backend), so a matrix that walks every route pays for the set-up
once. Tests using them must not rely on an empty database: each builds what it needs
under names of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from maestro.app import create_app
from maestro.config import Settings
from maestro.db import migrate
from maestro.db.engine import Database
from tests.maestro.databases import PostgresServer, sqlite_database


@pytest.fixture(scope="module")
def module_store(
    backend: str,
    _session_database: Any,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Database]:
    """A fresh, migrated database for the whole module: on SQLite a copy of the session's
    template; on PostgreSQL a database of its own (the session's shared one is truncated
    by every function-scoped test, which must not empty a module's data under it)."""
    if backend == "sqlite":
        db = sqlite_database(_session_database, tmp_path_factory.mktemp("module-db"))
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        db = Database(server.create("maestro_module"))
        migrate.upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def module_app(module_store: Database, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir: Path = tmp_path_factory.mktemp("module-data")
    return create_app(Settings(database_url=module_store.url, data_dir=data_dir), database=module_store)


@pytest.fixture(scope="module")
def module_client(module_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(module_app) as test_client:
        yield test_client
