"""``maestro blobs``: maintenance of the blob store, run against it directly."""

from __future__ import annotations

import typer

from maestro.cli.db import open_database
from maestro.config import get_settings

app = typer.Typer(help="Uploaded content in the blob store.", no_args_is_help=True)


@app.command("gc")
def blobs_gc() -> None:
    """Delete stored content no artifact references, and upload spool files a crashed
    server left in <data_dir>/tmp (uploads in flight are spared)."""
    from maestro.blobs import open_blob_store
    from maestro.blobs.spool import sweep_stale
    from maestro.services.blob_gc import collect_garbage

    settings = get_settings()
    swept = sweep_stale(settings.spool_dir())
    typer.echo(
        f"removed {len(swept)} stale upload spool file(s), {sum(s.size for s in swept)} bytes, "
        f"from {settings.spool_dir()}"
    )
    for spooled in swept:
        typer.echo(f"  {spooled.path.name}")
    db = open_database()
    store = open_blob_store(settings)
    try:
        removed = collect_garbage(db, store)
    finally:
        db.dispose()
    typer.echo(f"removed {len(removed)} unreferenced blob(s) from {store.describe()}")
    for digest in removed:
        typer.echo(f"  {digest}")
