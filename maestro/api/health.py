"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from maestro.api.deps import BlobStoreDep, DatabaseDep
from maestro.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def check_liveness() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz")
def check_readiness(db: DatabaseDep, blobs: BlobStoreDep) -> JSONResponse:
    """The database answers, its schema is the one this code expects, and the blob store
    is usable."""
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
    try:
        blobs.check()
    except Exception as exc:  # any failure of the store's client means "not ready"
        return JSONResponse(
            {
                "status": "unavailable",
                "detail": f"blob store {blobs.describe()} unusable: {type(exc).__name__}",
                "error": "blob_store_unavailable",
            },
            status_code=503,
        )
    return JSONResponse(
        {"status": "ok", "database": db.dialect, "schema": current, "blobs": blobs.describe()}
    )
