"""``maestro db``: the schema migrations, run against the configured database directly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from maestro.config import get_settings
from maestro.db import migrate
from maestro.db.engine import Database
from maestro.errors import SchemaError

app = typer.Typer(help="Database schema management.", no_args_is_help=True)


def open_database() -> Database:
    """The database the server would use (``MAESTRO_DATABASE_URL`` or the SQLite default)."""
    return Database(get_settings().resolved_database_url())


@app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply pending migrations (safe to run from several replicas at once)."""
    db = open_database()
    try:
        before = migrate.upgrade(db.engine, revision)
        with db.engine.connect() as conn:
            after = migrate.current_revision(conn)
    except SchemaError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo(f"database at {after} (was {before or 'empty'})")


@app.command("current")
def db_current() -> None:
    """Print the database's schema revision and this release's head."""
    db = open_database()
    try:
        with db.engine.connect() as conn:
            current = migrate.current_revision(conn)
            try:
                migrate.check_not_newer(conn)
                newer = False
            except SchemaError:
                newer = True
    finally:
        db.dispose()
    head = migrate.head_revision()
    if current is None:
        state = "empty"
    elif newer:
        state = "newer than this release"
    else:
        state = "current" if current == head else "behind"
    typer.echo(f"database: {current or '-'}  head: {head}  ({state})")


@app.command("prune")
def db_prune() -> None:
    """Delete Idempotency-Key records older than 24 hours (expired keys are ignored
    anyway; this only reclaims their space). Safe while serving; run it daily."""
    from maestro.services.idempotency import purge_expired

    db = open_database()
    try:
        removed = purge_expired(db, datetime.now(UTC))
    finally:
        db.dispose()
    typer.echo(f"removed {removed} expired idempotency record(s)")
