"""PostgreSQL connections the server ended while they sat in the pool (a restart, an
operator's ``pg_terminate_backend``) are discarded at checkout without a round trip,
so the next requests succeed instead of failing on a dead socket; and a request whose
connection dies under it gets a 503, never a 500 (the statements sent on a driver cursor,
``maestro.db.driver``, included)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Table, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from maestro.app import create_app
from maestro.config import Settings
from maestro.db import migrate
from maestro.db.audit_tables import AuditNodeRow
from maestro.db.driver_insert import DriverInsert
from maestro.db.engine import Database
from maestro.tenancy.repository import any_token_on
from tests.maestro.databases import PostgresServer

NODES: Table = AuditNodeRow.__table__  # type: ignore[assignment]


@pytest.fixture
def pg(postgres_server: PostgresServer) -> Iterator[Database]:
    """A database of its own: the tests end every session on it."""
    db = Database(postgres_server.create("maestro_connection_loss"))
    migrate.upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def quiet_client(pg: Database, tmp_path: Path) -> Iterator[TestClient]:
    """No background passes: the pool's connections are the requests' alone."""
    app = create_app(Settings(database_url=pg.url, data_dir=tmp_path / "data"), database=pg)
    with TestClient(app) as client:
        app.state.gate_follower.stop()
        app.state.audit_sequencer.stop()
        yield client


def _terminate_pool(db: Database) -> int:
    """End every other session on the test database, as a server restart would."""
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        admin.dispose()
    time.sleep(0.2)  # the termination notices reach the pooled sockets
    return int(ended)


def _pooled(db: Database) -> int:
    return int(db.engine.pool.checkedin())  # type: ignore[attr-defined]


def test_requests_after_the_server_ended_the_pooled_connections_succeed(
    pg: Database, quiet_client: TestClient
) -> None:
    runs = [quiet_client.post("/maestro/runs", json={"name": f"r{i}", "owner": "o"}) for i in range(3)]
    assert all(r.status_code == 201 for r in runs)
    assert _pooled(pg) >= 1
    assert _terminate_pool(pg) >= 1

    reads = [quiet_client.get(f"/maestro/runs/{r.json()['id']}") for r in runs]
    assert [r.status_code for r in reads] == [200, 200, 200]
    created = quiet_client.post("/maestro/runs", json={"name": "after", "owner": "o"})
    assert created.status_code == 201
    assert quiet_client.get(f"/maestro/runs/{created.json()['id']}").json()["name"] == "after"


def _last_statement(db: Database, pid: int) -> str:
    """What the server last ran for backend ``pid`` (asked from a session of its own)."""
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            query = conn.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :p"), {"p": pid})
            return str(query.scalar_one())
    finally:
        admin.dispose()


def test_a_checkout_asks_the_server_nothing(pg: Database) -> None:
    """The liveness check is local: checking a pooled connection out sends the server no
    statement (a ping would be the backend's last query; event hooks never see one)."""
    with pg.engine.connect() as conn:
        pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    before = _last_statement(pg, pid)  # the reset as the connection went back to the pool
    with pg.engine.connect() as conn:
        assert conn.connection.dbapi_connection.info.backend_pid == pid  # type: ignore[union-attr]
        assert _last_statement(pg, pid) == before


def test_a_connection_that_dies_during_a_request_answers_503(pg: Database, quiet_client: TestClient) -> None:
    run = quiet_client.post("/maestro/runs", json={"name": "r", "owner": "o"}).json()

    armed = [True]

    def end_own_session(_c: object, _cur: object, sql: str, *_: object) -> None:
        if armed and sql.lstrip().upper().startswith("SELECT RUNS.ID"):
            armed.clear()
            _terminate_pool(pg)

    event.listen(pg.engine, "before_cursor_execute", end_own_session)
    try:
        answer = quiet_client.get(f"/maestro/runs/{run['id']}")
    finally:
        event.remove(pg.engine, "before_cursor_execute", end_own_session)
    assert answer.status_code == 503, answer.text
    assert "detail" in answer.json()
    assert quiet_client.get(f"/maestro/runs/{run['id']}").status_code == 200


def _own_pid(conn: object) -> int:
    return int(conn.connection.dbapi_connection.info.backend_pid)  # type: ignore[attr-defined]


@pytest.mark.parametrize("statement", ["token check", "one row", "copy"])
def test_a_driver_statement_on_a_lost_connection_is_a_database_error_that_invalidates_it(
    pg: Database, statement: str
) -> None:
    """The statements sent on a driver cursor (``maestro.db.driver``) fail as Core's would:
    a DBAPIError that says the connection was lost (so it maps to 503), the connection is
    invalidated rather than pooled again, and the next checkout works."""
    insert = DriverInsert(NODES, ("tenant_id", "level", "idx", "hash"))
    rows = [("default", 0, n, b"\x01" * 32) for n in range(1 if statement == "one row" else 3)]

    def send(conn: Connection) -> None:
        if statement == "token check":
            any_token_on(conn)
        else:
            insert.execute(conn, rows)

    with pg.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        lost_pid = _own_pid(conn)
        _terminate_pool(pg)
        with pytest.raises(DBAPIError) as caught:
            send(conn)
        assert caught.value.connection_invalidated
        assert conn.invalidated
    with pg.engine.connect() as conn:
        assert _own_pid(conn) != lost_pid
        assert any_token_on(conn) is False
