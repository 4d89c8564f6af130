"""``maestro blobs``: maintenance of the blob store, run against it directly."""

from __future__ import annotations

import typer

from maestro.cli.db import open_database
from maestro.config import get_settings

app = typer.Typer(help="Uploaded content in the blob store.", no_args_is_help=True)


@app.command("gc")
def blobs_gc() -> None:
    """Delete stored content no artifact references (uploads in flight are spared)."""
    from maestro.blobs import open_blob_store
    from maestro.services.blob_gc import collect_garbage

    settings = get_settings()
    db = open_database()
    store = open_blob_store(settings)
    try:
        removed = collect_garbage(db, store)
    finally:
        db.dispose()
    typer.echo(f"removed {len(removed)} unreferenced blob(s) from {store.describe()}")
    for digest in removed:
        typer.echo(f"  {digest}")
