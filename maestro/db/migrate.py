"""Alembic, driven from code: upgrade under a lock, and refuse a database newer than us.

Several replicas may start at once against one PostgreSQL; each takes the same
transaction-scoped advisory lock, so one migrates and the others then find the
schema current. On SQLite the write transaction (``BEGIN IMMEDIATE``) is the lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from maestro.errors import SchemaError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary but fixed: the advisory-lock key every Maestro replica agrees on.
_PG_LOCK_KEY = 0x6D61657374726F  # "maestro"
_SQLITE_ATTEMPTS = 7  # about 6 s of back-off in all


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def check_not_newer(conn: Connection) -> str | None:
    """The database's revision; raises when this code does not know it (a newer release)."""
    current = current_revision(conn)
    if current is None:
        return None
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaError(
            f"Database schema revision {current!r} is newer than this Maestro release "
            f"(head {head_revision()!r}); upgrade Maestro or point it at another database"
        )
    return current


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to ``revision`` under the migration lock; returns the revision before.

    On SQLite a replica that finds the file locked in a way its busy handler does not
    wait out (SQLite returns "database is locked" at once where waiting could deadlock,
    seen when several replicas start together on one empty file) tries again a few
    times; by then the first replica has migrated and the rest find the schema current."""
    for attempt in range(_SQLITE_ATTEMPTS):
        try:
            return _upgrade_once(engine, revision)
        except OperationalError as exc:
            locked = engine.dialect.name == "sqlite" and "database is locked" in str(exc.orig)
            if not locked or attempt == _SQLITE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def _upgrade_once(engine: Engine, revision: str) -> str | None:
    write_engine = engine.execution_options(maestro_write=True)
    with write_engine.connect() as conn, _sqlite_foreign_keys_off(conn), conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        before = check_not_newer(conn)
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        _check_foreign_keys(conn)
    return before


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate down to ``revision`` (tests and recovery), with SQLite's table rebuilds made
    safe as for ``upgrade``. Calling alembic's ``command.downgrade`` on a connection with
    foreign keys on would cascade-delete the children of every rebuilt table."""
    with engine.connect() as conn, _sqlite_foreign_keys_off(conn), conn.begin():
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        _check_foreign_keys(conn)


@contextmanager
def _sqlite_foreign_keys_off(conn: Connection) -> Iterator[None]:
    """SQLite's procedure for a table rebuild (what batch migrations do: copy, DROP, rename):
    with foreign keys on, the DROP of a parent table cascade-deletes every child row. The
    pragma only takes effect outside a transaction, so it is set on the raw connection
    before the migration's transaction begins, and restored after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(conn: Connection) -> None:
    """Before commit, with the keys off: no row may point at nothing."""
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise SchemaError(f"migration left rows with dangling foreign keys: {broken[:5]}")


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return current_revision(conn) == head_revision()
