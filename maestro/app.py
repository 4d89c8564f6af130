"""The ASGI application.

``create_app(settings)`` builds an app; ``maestro.app:app`` (what the seed's
``uvicorn maestro.app:app`` command loads) is created on first access from
the ``MAESTRO_*`` environment, so importing this module has no side effects.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from maestro import __version__
from maestro.api import artifacts, components, content, evidence, health, keys, packs, root, runs
from maestro.api.deps import GLOBAL_DEPENDENCIES
from maestro.api.errors import install_error_handlers
from maestro.api.idempotency import IdempotencyMiddleware
from maestro.api.middleware import RequestContextMiddleware
from maestro.api.openapi import openapi_builder
from maestro.audit import router as audit
from maestro.blobs import open_blob_store
from maestro.blobs.spool import sweep_stale
from maestro.bulkhead import Lanes
from maestro.config import Settings, get_settings
from maestro.db import migrate
from maestro.db.engine import Database
from maestro.environment import BadSetting
from maestro.limits import HeadLimits
from maestro.logs import configure_logging
from maestro.services.intelgraph import IntelGraph, IntelGraphLimits
from maestro.services.parsing import ParseBudget, Parser

log = logging.getLogger("maestro.app")


def prepare_database(db: Database, settings: Settings) -> None:
    """Migrate (under the lock) or, with auto-migration off, only refuse a newer schema."""
    if settings.auto_migrate:
        before = migrate.upgrade(db.engine)
        if before != migrate.head_revision():
            log.info("database migrated", extra={"from": before, "to": migrate.head_revision()})
        return
    with db.engine.connect() as conn:
        current = migrate.check_not_newer(conn)
    if current != migrate.head_revision():
        log.warning(
            "database schema is behind this release; /readyz reports not ready until "
            "`maestro db upgrade` runs",
            extra={"current": current, "head": migrate.head_revision()},
        )


def sweep_spool(settings: Settings) -> None:
    """Remove upload spool files a crashed process left (uploads in flight are spared)."""
    removed = sweep_stale(settings.spool_dir())
    if removed:
        log.info(
            "removed stale upload spool files",
            extra={
                "count": len(removed),
                "bytes": sum(s.size for s in removed),
                "dir": str(settings.spool_dir()),
            },
        )


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    db = database or Database(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    intelgraph = (
        IntelGraph(str(settings.intelgraph_url), limits=IntelGraphLimits.from_settings(settings))
        if settings.intelgraph_url
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        prepare_database(db, settings)
        sweep_spool(settings)
        yield
        app.state.readiness.close()
        if intelgraph is not None:
            await intelgraph.close()
        if database is None:
            db.dispose()

    app = FastAPI(
        title="Maestro",
        version=__version__,
        summary="Runs, their evidence, disclosure packs and release gates.",
        lifespan=lifespan,
        docs_url=None,  # served offline by maestro.api.root
        redoc_url=None,
        dependencies=GLOBAL_DEPENDENCIES,
        redirect_slashes=False,  # a trailing slash gets a 308 with a body (maestro.api.errors)
    )
    app.openapi = openapi_builder(app)  # type: ignore[method-assign]
    app.state.db = db
    app.state.settings = settings
    app.state.intelgraph = intelgraph
    app.state.blobs = open_blob_store(settings)
    app.state.parser = Parser(ParseBudget.from_settings(settings))
    app.state.readiness = health.readiness_for(db, app.state.blobs, intelgraph, settings)
    app.state.lanes = Lanes(
        blob_calls=settings.s3_max_concurrency,
        blob_wait=settings.s3_pool_timeout,
        parses=settings.max_concurrent_parses,
        parse_wait=settings.parse_queue_timeout,
    )
    install_error_handlers(app)
    for module in (runs, artifacts, evidence, content, packs, components, keys, audit, health):
        app.include_router(module.router)
    root.install_docs(app)
    app.add_middleware(IdempotencyMiddleware)  # added first, so it runs inside the limits
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        log_requests=settings.access_log,
        head_limits=HeadLimits(settings.max_header_bytes, settings.max_headers, settings.max_url_bytes),
    )
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """``maestro.app.app``, built on first use (PEP 562).

    This is what ``uvicorn maestro.app:app`` loads, so a ``MAESTRO_*`` variable
    that cannot be used ends the process here with its one-line explanation
    (exit 2), not with a traceback from inside uvicorn's importer."""
    global _app
    if name == "app":
        if _app is None:
            try:
                _app = create_app()
            except BadSetting as exc:
                print(*exc.lines(), sep="\n", file=sys.stderr)  # noqa: T201 - no logging configured yet
                raise SystemExit(2) from None
        return _app
    raise AttributeError(name)
