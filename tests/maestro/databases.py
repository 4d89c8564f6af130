"""Real test databases: a migrated SQLite template copied per test, and a throw-away
PostgreSQL database (created per session, truncated per test, dropped at the end)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from maestro.db import migrate
from maestro.db.engine import Database
from maestro.db.tables import Base

POSTGRES_ENV = "MAESTRO_TEST_DATABASE_URL"
REQUIRE_POSTGRES_ENV = "MAESTRO_REQUIRE_POSTGRES"


POSTGRES_SKIP = (
    f"PostgreSQL half skipped (set {POSTGRES_ENV}=postgresql+psycopg://user@host:5432/postgres, "
    "or install the PostgreSQL server for a throwaway one)"
)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def postgres_plan() -> str:
    """Which PostgreSQL the suite will use, for the report header."""
    from tests.maestro.throwaway_postgres import find_pg_ctl, unavailable_reason

    if postgres_url():
        return f"sqlite and postgresql (the server {POSTGRES_ENV} names)"
    reason = unavailable_reason()
    if reason is None:
        return f"sqlite and postgresql (a throwaway server run with {find_pg_ctl()})"
    return f"sqlite only: {reason} (set {POSTGRES_ENV} to run the PostgreSQL half too)"


def sqlite_template(directory: Path) -> Path:
    """A freshly migrated SQLite file to copy: migrating once per session, not per test."""
    path = directory / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


def sqlite_database(template: Path, directory: Path) -> Database:
    path = directory / "maestro.db"
    shutil.copyfile(template, path)
    return Database(f"sqlite:///{path}")


class PostgresServer:
    """Creates uniquely named databases on the server MAESTRO_TEST_DATABASE_URL points at;
    never touches the database named in the URL itself."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url)
        self.created: list[str] = []

    def _admin_url(self) -> URL:
        return self.base.set(database="postgres")

    def create(self, prefix: str = "maestro_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self._admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        admin = create_engine(self._admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        self.created.clear()


def truncate_all(db: Database) -> None:
    """Empty every table, then put back the ``default`` tenant the migration inserts."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
        conn.execute(
            text("INSERT INTO tenants (id, name, created_at) VALUES ('default', 'Default tenant', now())")
        )


def iter_backends() -> Iterator[str]:
    yield "sqlite"
    yield "postgresql"
