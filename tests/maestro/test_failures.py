"""Failure statuses in-process, on both databases: a database outage is 503 with or
without an Idempotency-Key, a bug is a JSON 500 carrying the request id, and no log
line carries a statement's parameter values."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from maestro.app import create_app
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.logs import JsonFormatter, format_exception
from tests.maestro.faulty_app import SECRET, add_bug_routes

RUN = {"name": "n", "owner": "o"}


@pytest.fixture
def unreachable(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A database that is down: PostgreSQL with nothing listening, or a SQLite "file"
    that cannot be opened (the path is a directory)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}"
    else:
        url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    db = Database(url)
    yield db
    db.dispose()


@pytest.mark.parametrize("key", [None, "retry-me-1"], ids=["no-key", "idempotency-key"])
def test_a_database_outage_is_503_with_or_without_an_idempotency_key(
    unreachable: Database, tmp_path: Path, key: str | None, error_log: io.StringIO
) -> None:
    app = create_app(Settings(database_url=unreachable.url, data_dir=tmp_path / "d"), database=unreachable)
    client = TestClient(app)  # no lifespan: start-up would fail to connect, as it should
    headers = {"Idempotency-Key": key} if key else {}
    response = client.post("/maestro/runs", json=RUN, headers={**headers, "X-Request-ID": "outage"})
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "Database unavailable; retry later", "error": "database_unavailable"}
    assert response.headers["retry-after"] == "1"
    assert response.headers["x-request-id"] == "outage"
    logged = [line for line in error_log.getvalue().splitlines() if "database unavailable" in line]
    assert logged, error_log.getvalue()
    assert all('"request_id":"outage"' in line for line in logged)


@pytest.fixture
def faulty(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(add_bug_routes(app)) as client:
        yield client


@pytest.fixture
def error_log() -> Iterator[io.StringIO]:
    """What the ``maestro.errors`` logger writes, through Maestro's JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("maestro.errors")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_a_bug_is_a_json_500_with_the_request_id(faulty: TestClient, error_log: io.StringIO) -> None:
    response = faulty.get("/test/bug", headers={"X-Request-ID": "bug-2"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "error": "internal_error"}
    assert response.headers["x-request-id"] == "bug-2"
    assert response.headers["connection"] == "close"
    assert '"request_id":"bug-2"' in error_log.getvalue()
    assert "RuntimeError: injected bug" in error_log.getvalue()


def test_a_500_from_the_database_logs_no_parameter_values(faulty: TestClient, error_log: io.StringIO) -> None:
    response = faulty.post("/test/sql-bug", headers={"X-Request-ID": "sql-2"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "sql-2"
    logged = error_log.getvalue()
    assert '"request_id":"sql-2"' in logged
    assert "IntegrityError" in logged
    assert "INSERT INTO runs (id)" in logged
    assert SECRET not in logged  # PostgreSQL's DETAIL ("Failing row contains ...") left out too


def test_a_repeated_key_after_a_bug_runs_again(faulty: TestClient) -> None:
    """A 500 is not remembered: the key is free for the retry."""
    first = faulty.post("/test/sql-bug", headers={"Idempotency-Key": "k-bug"})
    again = faulty.post("/test/sql-bug", headers={"Idempotency-Key": "k-bug"})
    assert first.status_code == again.status_code == 500
    assert "idempotent-replayed" not in again.headers


def test_tracebacks_keep_their_chain_but_drop_database_values(maestro_store: Database) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    try:
        with maestro_store.write() as session:
            session.execute(text("INSERT INTO runs (id) VALUES (:secret)"), {"secret": SECRET})
    except IntegrityError as exc:
        formatted = format_exception(exc)
    assert SECRET not in formatted
    assert formatted.count("Traceback (most recent call last):") == 2
    assert "The above exception was the direct cause of the following exception:" in formatted
    last = formatted.splitlines()[-1]
    assert last.startswith("sqlalchemy.exc.IntegrityError: (")
    assert re.search(r"\[SQL: INSERT INTO runs \(id\) VALUES \((\?|%\(secret\)s)\)\]$", last), last


@pytest.mark.parametrize(
    ("headers", "path", "status"),
    [
        ({f"X-{i}": "v" for i in range(101)}, "/healthz", 431),
        ({"X-Big": "a" * 70_000}, "/healthz", 431),
        ({}, "/healthz?" + "q" * 9000, 414),
    ],
    ids=["count", "bytes", "url"],
)
def test_head_limits_hold_under_any_server(
    client: TestClient, headers: dict[str, str], path: str, status: int
) -> None:
    """Under ``python -m uvicorn maestro.app:app`` (plain httptools) the app still answers
    414/431, after the server has read the head (``maestro server`` refuses earlier)."""
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] in ("request_header_fields_too_large", "uri_too_long")
    assert response.headers["x-request-id"]
