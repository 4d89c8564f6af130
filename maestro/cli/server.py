"""``maestro server``: run the API in this process (with ``maestro.serving``'s options and limits)."""

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
    from maestro import serving  # imports uvicorn, which the rest of the CLI never needs

    settings = get_settings()
    if settings.auto_migrate:
        db = open_database()
        try:
            migrate.upgrade(db.engine)
        finally:
            db.dispose()
    serving.run("maestro.app:app", host=host, port=port, workers=workers)
