"""The ceiling: the least a FastAPI service can do per "create" request on SQLite.

One validated JSON body in, one row inserted and committed, one small JSON
object out; no ORM, no access log, no middleware. Served by the same server and
flags as Maestro, its CPU per request is what HTTP parsing, FastAPI routing and
validation, and one SQLite commit cost on this machine; Maestro's create-run
figure divided by it says how much our own layers add on top.

The database path comes from ``CEILING_DB``. Each threadpool thread keeps its
own connection (sqlite3 connections are not shared across threads) with the
same pragmas Maestro uses (WAL, synchronous=NORMAL, busy_timeout).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid

from fastapi import FastAPI
from pydantic import BaseModel

_DB_PATH = os.environ.get("CEILING_DB", "/tmp/maestro-bench-ceiling.db")
_local = threading.local()

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


class RowIn(BaseModel):
    name: str
    owner: str
    cost_estimate: float | None = None


class RowOut(BaseModel):
    id: str


def _connect() -> sqlite3.Connection:
    conn = sqlite3.connect(_DB_PATH, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "owner TEXT NOT NULL, cost_estimate REAL)"
    )
    return conn


def _conn() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = _connect()
        _local.conn = conn
    return conn


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/rows", status_code=201)
def create_row(body: RowIn) -> RowOut:
    row_id = str(uuid.uuid4())
    _conn().execute(
        "INSERT INTO rows (id, name, owner, cost_estimate) VALUES (?, ?, ?, ?)",
        (row_id, body.name, body.owner, body.cost_estimate),
    )
    return RowOut(id=row_id)
