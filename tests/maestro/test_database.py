"""Durability and schema management: restarts, migrations, the migration lock,
refusing a newer schema, and models that match the migrations."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from maestro.app import create_app
from maestro.config import Settings
from maestro.db import migrate
from maestro.db.engine import Database
from maestro.db.tables import Base
from maestro.errors import SchemaError
from tests.maestro.databases import PostgresServer


def test_data_survives_a_restart_on_a_file_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        run = client.post(
            "/maestro/runs", json={"name": "kept", "owner": "o", "related_entity_ids": ["e"]}
        ).json()
        client.post("/maestro/artifacts", json={"run_id": run["id"], "kind": "sbom", "path_or_uri": "s3://x"})
        client.patch(f"/maestro/runs/{run['id']}", json={"status": "succeeded"})
    assert (tmp_path / "data" / "maestro.db").exists()
    with TestClient(create_app(settings)) as client:
        again = client.get(f"/maestro/runs/{run['id']}").json()
        assert again["name"] == "kept"
        assert again["status"] == "succeeded"
        assert [r["id"] for r in client.get("/maestro/runs?entity_id=e").json()] == [run["id"]]
        assert len(client.get(f"/maestro/artifacts?run_id={run['id']}").json()) == 1


@pytest.mark.only(backend="sqlite")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(maestro_store: Database) -> None:
    with maestro_store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_models_match_migrations(maestro_store: Database) -> None:
    """The equivalent of `alembic check`: autogenerate finds nothing to do."""
    with maestro_store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_then_upgrade_round_trips(maestro_store: Database) -> None:
    from alembic import command

    with maestro_store.engine.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(maestro_store.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(maestro_store.engine)
    assert migrate.is_current(maestro_store.engine)
    assert {"runs", "artifacts", "disclosure_packs", "run_links"} <= set(
        inspect(maestro_store.engine).get_table_names()
    )


def test_refuses_a_database_newer_than_the_code(maestro_store: Database, settings: Settings) -> None:
    with maestro_store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    try:
        with pytest.raises(SchemaError, match="newer than this Maestro release"):
            migrate.upgrade(maestro_store.engine)
        app = create_app(settings.model_copy(update={"auto_migrate": False}), database=maestro_store)
        with pytest.raises(SchemaError), TestClient(app):
            pass
    finally:
        with maestro_store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": migrate.head_revision()})


def test_auto_migrate_off_serves_but_is_not_ready(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auto_migrate=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["error"] == "schema_not_current"
        assert "maestro db upgrade" in ready.json()["detail"]


def test_api_on_unmigrated_database_is_503(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, auto_migrate=False))) as client:
        response = client.post("/maestro/runs", json={"name": "n", "owner": "o"})
        assert response.status_code == 503
        assert response.json()["error"] == "schema_not_current"
        assert client.get("/maestro/runs").status_code == 503


def test_readyz_when_current(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["schema"] == migrate.head_revision()


def test_readyz_when_database_unreachable(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = create_app(Settings(database_url=url, auto_migrate=False), database=Database(url))
    client = TestClient(app)  # no lifespan: start-up would fail to connect, as it should
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"


def test_concurrent_migrations_do_not_race(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Several replicas start at once against one empty database: all succeed, one migrates."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create("maestro_race")
    databases = [Database(url) for _ in range(4)]
    barrier = threading.Barrier(len(databases))
    errors: list[BaseException] = []

    def start(db: Database) -> None:
        barrier.wait()
        try:
            migrate.upgrade(db.engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [], "".join(traceback.format_exception(errors[0]))
        assert migrate.is_current(databases[0].engine)
    finally:
        for db in databases:
            db.dispose()
