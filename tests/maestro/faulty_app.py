"""Maestro's app plus routes with injected bugs, for tests only (never in ``maestro``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy import text

from maestro.app import create_app
from maestro.config import Settings
from maestro.tenancy.roles import Role

SECRET = "s3cr3t-parameter-value"


def add_bug_routes(app: FastAPI) -> FastAPI:
    """``GET /test/bug`` raises; ``POST /test/sql-bug`` runs an INSERT that fails with a
    secret parameter (a NOT NULL violation: PostgreSQL's DETAIL echoes the row)."""
    app.state.route_roles |= {("GET", "/test/bug"): Role.VIEWER, ("POST", "/test/sql-bug"): Role.WRITER}

    @app.get("/test/bug")
    async def raise_bug() -> None:
        raise RuntimeError("injected bug")

    @app.post("/test/sql-bug")
    def raise_sql_bug(request: Request) -> None:
        with request.app.state.db.write() as session:
            session.execute(text("INSERT INTO runs (id) VALUES (:secret)"), {"secret": SECRET})

    return app


def create() -> FastAPI:
    """The factory a live server loads (settings from its MAESTRO_* environment)."""
    return add_bug_routes(create_app(Settings()))
