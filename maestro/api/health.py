"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from maestro.api.deps import DatabaseDep
from maestro.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def check_liveness() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz")
def check_readiness(db: DatabaseDep) -> JSONResponse:
    """The database answers and its schema is the one this code expects."""
    head = head_revision()
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = current_revision(conn)
    except SQLAlchemyError as exc:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"database unreachable: {type(exc).__name__}",
                "error": "database_unavailable",
            },
            status_code=503,
        )
    if current != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"database schema is at {current!r}, this release needs {head!r}; "
                "run `maestro db upgrade`",
                "error": "schema_not_current",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": db.dialect, "schema": current})
