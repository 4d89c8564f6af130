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

from fastapi import Depends, FastAPI

from maestro import __version__
from maestro.api import health, root
from maestro.api.deps import GLOBAL_GUARDS
from maestro.api.errors import install_error_handlers
from maestro.api.middleware import RequestContextMiddleware
from maestro.api.openapi import openapi_builder
from maestro.api.unit_of_work import UnitOfWorkMiddleware
from maestro.artifacts import content_router, evidence_router
from maestro.artifacts import router as artifacts_router
from maestro.audit import router as audit_router
from maestro.audit.router import state_signer
from maestro.audit.sequencer import Sequencer
from maestro.blobs import open_blob_store
from maestro.blobs.spool import sweep_stale
from maestro.bulkhead import Lanes
from maestro.components import router as components_router
from maestro.config import Settings, get_settings
from maestro.db import migrate
from maestro.db.engine import Database
from maestro.environment import BadSetting
from maestro.limits import HeadLimits
from maestro.logs import configure_logging
from maestro.packs import router as packs_router
from maestro.platform.uow import utc_now
from maestro.policy_assignments import router as assignments_router
from maestro.policy_registry import dry_run_router
from maestro.policy_registry import router as policies_router
from maestro.runs import router as runs_router
from maestro.services.intelgraph import IntelGraph, IntelGraphLimits
from maestro.services.parsing import ParseBudget, Parser
from maestro.tenancy import auth
from maestro.tenancy import router as tenancy_router
from maestro.tenancy.roles import ROUTE_ROLES
from maestro.trusted_keys import router as trusted_keys_router
from maestro.verdicts import router as verdicts_router
from maestro.verdicts.follower import GateFollower
from maestro.waivers import router as waivers_router

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


# Every route's guards, in order. Who is asking comes first: a caller without a principal
# learns nothing else.
GUARDS = (auth.require_principal, *GLOBAL_GUARDS)


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
        auth.warn_if_local(app.state.token_presence, settings.auth)
        app.state.audit_sequencer.start()  # its first pass takes what a crash left queued
        app.state.gate_follower.start()
        yield
        app.state.audit_sequencer.stop()
        app.state.gate_follower.stop()
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
        dependencies=[Depends(guard) for guard in GUARDS],
        redirect_slashes=False,  # a trailing slash gets a 308 with a body (maestro.api.errors)
    )
    app.openapi = openapi_builder(app)  # type: ignore[method-assign]
    app.state.guards = GUARDS  # for a handler FastAPI's dependency solving does not reach
    app.state.db = db
    app.state.token_presence = auth.TokenPresence(db)
    app.state.gate_follower = GateFollower(db, lambda: state_signer(app.state))
    app.state.audit_sequencer = Sequencer(db, after_pass=app.state.gate_follower.wake)
    app.state.gate_follower.on_recorded = app.state.audit_sequencer.wake_for  # its verdicts' events
    app.state.route_roles = dict(ROUTE_ROLES)  # an app built for tests may add its own routes
    app.state.settings = settings
    app.state.clock = utc_now  # each request's clock (UnitOfWork.now); tests may set their own
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
    for module in (
        runs_router,
        artifacts_router,
        evidence_router,
        content_router,
        packs_router,
        components_router,
        trusted_keys_router,
        health,
        tenancy_router,
        audit_router,
        policies_router,
        dry_run_router,
        assignments_router,
        verdicts_router,
        waivers_router,
    ):
        app.include_router(module.router)
    root.install_docs(app)
    app.add_middleware(UnitOfWorkMiddleware)  # added first, so it runs inside the limits
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
