"""``maestro server``: run the API in this process (with ``maestro.serving``'s options and limits).

uvicorn and the database code are imported inside ``serve``, after the port
check, so the rest of the CLI never loads them.
"""

from __future__ import annotations

import errno
import socket
from typing import Annotated

import typer

from maestro.cli.failures import CannotProceed


class PortUnavailable(CannotProceed):
    """The port cannot be bound; the message names it and how to choose another."""


def ensure_port_free(host: str, port: int) -> None:
    """Fail before migrating anything when ``host:port`` cannot be bound.

    uvicorn would find out only after the migration ran (and after a slow start
    of the workers), ending with a traceback about ``[Errno 98]``. The probe
    binds the way uvicorn does (``SO_REUSEADDR``, so a port in TIME_WAIT is fine)
    and closes at once."""
    advice = "choose another with `maestro server --port N` or `make maestro-api PORT=N`"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(f"cannot bind {host}:{port}: {exc.strerror}; check --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortUnavailable(f"port {port} on {host} is already in use; {advice}") from None
            if exc.errno == errno.EACCES:
                raise PortUnavailable(f"not allowed to bind port {port} on {host}; {advice}") from None
            raise PortUnavailable(f"cannot bind {host}:{port}: {exc.strerror}; {advice}") from None


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8001,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API (migrating first unless MAESTRO_AUTO_MIGRATE=false)."""
    ensure_port_free(host, port)
    from maestro import serving  # imports uvicorn, which the rest of the CLI never needs
    from maestro.cli.db import open_database
    from maestro.config import get_settings
    from maestro.db import migrate

    settings = get_settings()
    if settings.auto_migrate:
        db = open_database()
        try:
            migrate.upgrade(db.engine)
        finally:
            db.dispose()
    serving.run("maestro.app:app", host=host, port=port, workers=workers)
