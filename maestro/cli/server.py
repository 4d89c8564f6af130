"""``maestro server``: run the API in this process (uvicorn is imported only here)."""

from __future__ import annotations

from typing import Annotated

import typer

from maestro.cli.db import open_database
from maestro.config import get_settings
from maestro.db import migrate


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8001,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API (migrating first unless MAESTRO_AUTO_MIGRATE=false)."""
    import uvicorn

    settings = get_settings()
    if settings.auto_migrate:
        db = open_database()
        try:
            migrate.upgrade(db.engine)
        finally:
            db.dispose()
    # uvloop and httptools explicitly (uvicorn[standard] installs both): with the asyncio
    # loop, several workers leave Nagle's algorithm on keep-alive sockets (uvicorn #3149,
    # ~40 ms a request); uvloop sets TCP_NODELAY, and 2 workers measure 1.5-2x faster than 1
    # (bench/README.md).
    uvicorn.run(
        "maestro.app:app",
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
    )
