"""The ``maestro`` command: serve and manage the database."""

from __future__ import annotations

from typing import Annotated

import typer

from maestro.config import get_settings
from maestro.db import migrate
from maestro.db.engine import Database
from maestro.errors import SchemaError

cli = typer.Typer(help="Maestro: runs, evidence, disclosure packs and release gates.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema management.", no_args_is_help=True)
blobs_cli = typer.Typer(help="Uploaded content in the blob store.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(blobs_cli, name="blobs")


def _database() -> Database:
    return Database(get_settings().resolved_database_url())


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply pending migrations (safe to run from several replicas at once)."""
    db = _database()
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


@db_cli.command("current")
def db_current() -> None:
    """Print the database's schema revision and this release's head."""
    db = _database()
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


@blobs_cli.command("gc")
def blobs_gc() -> None:
    """Delete stored content no artifact references (uploads in flight are spared)."""
    from maestro.blobs import open_blob_store
    from maestro.services.blob_gc import collect_garbage

    settings = get_settings()
    db = _database()
    store = open_blob_store(settings)
    try:
        removed = collect_garbage(db, store)
    finally:
        db.dispose()
    typer.echo(f"removed {len(removed)} unreferenced blob(s) from {store.describe()}")
    for digest in removed:
        typer.echo(f"  {digest}")


@cli.command("server")
def server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8001,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API (migrating first unless MAESTRO_AUTO_MIGRATE=false)."""
    import uvicorn

    settings = get_settings()
    if settings.auto_migrate:
        db = _database()
        try:
            migrate.upgrade(db.engine)
        finally:
            db.dispose()
    uvicorn.run("maestro.app:app", host=host, port=port, workers=workers, access_log=False)


def main() -> None:
    cli()
