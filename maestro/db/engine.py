"""Engines and units of work.

One ``Database`` per process. ``read()`` and ``write()`` each open one
transaction that commits when the block ends without an exception and rolls
back otherwise: a request writes everything or nothing. On SQLite a write
transaction starts with ``BEGIN IMMEDIATE`` so two writers queue on the
database lock (``busy_timeout``) instead of failing when a read upgrades to a
write.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from maestro.db import jsonb
from maestro.errors import DatabaseFileChanged, InsufficientStorage

log = logging.getLogger("maestro.db")
_WRITE = "maestro_write"
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL: the unix VFS reports ENOSPC as this
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, *, pool_size: int = 10, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine with Maestro's connection settings for SQLite or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_ms, pool_size)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,  # error messages (and so logged tracebacks) never carry row values
        json_serializer=jsonb.dumps,
        json_deserializer=orjson.loads,
    )
    event.listen(engine, "checkout", _refuse_dead_connection)
    return engine


def _refuse_dead_connection(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Discard a pooled PostgreSQL connection the server has given up on, without a round
    trip: an idle connection's socket has nothing to read unless the server wrote to it
    (the termination notice of a restart or ``pg_terminate_backend``) or closed it.

    This replaces ``pool_pre_ping``, which asked the server on every checkout: a round
    trip per transaction, 3% of a write's server CPU in a profile. A connection lost
    silently (a host gone, no FIN) is not seen here; its first statement fails, which
    the pool treats as a disconnect and answers with a fresh pool (the request gets a
    503, never a 500).
    A false alarm (a server message nobody asked for) only costs a reconnect."""
    if dbapi_conn.closed or dbapi_conn.broken:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server ended the connection while it was idle")


def _sqlite_engine(url: str, busy_timeout_ms: int, pool_size: int) -> Engine:
    parsed = make_url(url)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool
    else:
        # On SQLite the token check and the end of a read take a connection on the event
        # loop, so a checkout must never wait: with a bounded pool (SQLAlchemy's 5 + 10),
        # 32 concurrent token requests held every connection in reads that only the
        # blocked loop could end - no response for 30 s, then a pool timeout (500).
        # Connections beyond pool_size are opened on demand (a file open and 4 pragmas).
        kwargs.update(pool_size=pool_size, max_overflow=-1)
    engine = create_engine(
        url, hide_parameters=True, json_serializer=_json_dumps, json_deserializer=orjson.loads, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not the driver.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # busy_timeout first: switching a new file to WAL takes a lock, and a second
        # connection doing the same without a busy handler fails at once ("database is
        # locked"), as replicas starting together on an empty data directory did.
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a file-backed SQLite URL, else None."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return Path(database).resolve()


def _file_identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def is_disk_full(exc: OperationalError) -> bool:
    orig = exc.orig
    return (
        getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL
        or getattr(orig, "sqlstate", None) == _PG_DISK_FULL
    )


class Database:
    """The process's connection pool and its two kinds of unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        write_engine = self.engine.execution_options(**{_WRITE: True})
        self._read = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._writer_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else nullcontext()
        )
        self._write = sessionmaker(write_engine, expire_on_commit=False, autoflush=False)
        self.sqlite_path = sqlite_file(url)
        self._identity: tuple[int, int] | None = None
        if self.sqlite_path is not None:
            event.listen(self.engine, "connect", self._remember_file)

    def _remember_file(self, _dbapi_conn: Any, _record: Any) -> None:
        """The identity of the file the first connection opened: the one every write must reach."""
        if self._identity is None and self.sqlite_path is not None:
            self._identity = _file_identity(self.sqlite_path)

    def file_problem(self) -> str | None:
        """Why a write would be lost because the SQLite file changed underneath, or None.
        One stat(2): cheap enough for every write transaction."""
        if self.sqlite_path is None or self._identity is None:
            return None
        try:
            current = _file_identity(self.sqlite_path)
        except FileNotFoundError:
            return f"the SQLite database {self.sqlite_path} was removed while the server was running"
        if current != self._identity:
            return f"the SQLite database {self.sqlite_path} was replaced while the server was running"
        return None

    def check_file(self) -> None:
        problem = self.file_problem()
        if problem is not None:
            raise DatabaseFileChanged(
                f"{problem}; writes are refused so that none is acknowledged and then lost. "
                "Restore the data directory and restart the server"
            )

    def disk_full(self, exc: OperationalError) -> InsufficientStorage:
        """The 507 for a write the disk had no room for (logged with its cause)."""
        if self.sqlite_path is not None:
            where = f"the SQLite database {self.sqlite_path} (data directory {self.sqlite_path.parent})"
        else:
            where = "the PostgreSQL server's disk"
        log.error("database write failed: disk full", extra={"cause": str(exc.orig), "where": where})
        return InsufficientStorage(f"No space left on the device holding {where}; nothing was written")

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def raw(self) -> Iterator[DBAPIConnection]:
        """A pooled driver connection, for a fixed statement asked on every request (~10 us,
        where a Core connection costs ~50 us); rolled back as it returns to the pool.
        Driver errors come out as SQLAlchemy's, so they map to 503 like any other."""
        driver_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        try:
            conn = self.engine.raw_connection()
            try:
                yield conn
            finally:
                conn.close()
        except driver_error as exc:
            raise DBAPIError.instance(None, None, exc, driver_error, hide_parameters=True) from exc

    @contextmanager
    def probe(self) -> Iterator[Connection]:
        """A pooled connection for a few Core reads outside any unit of work (the
        per-request token check): no ORM session, which costs ~100 us more a query."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        # SQLite admits one writer; its busy handler makes the others sleep and poll
        # (up to 100 ms a nap), which put 0.5 s into the p99 of concurrent creates.
        # Queuing this process's writers on a lock first hands the database over at once.
        self.check_file()
        try:
            with self._writer_lock, self._write() as session, session.begin():
                yield session
        except OperationalError as exc:
            if is_disk_full(exc):
                raise self.disk_full(exc) from exc
            raise

    def dispose(self) -> None:
        self.engine.dispose()
