"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from maestro.api.deps import BlobStoreDep, DatabaseDep, SettingsDep
from maestro.blobs.base import BlobStore
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.db.migrate import current_revision, head_revision
from maestro.diskspace import low_space

router = APIRouter(tags=["health"])


@router.get("/healthz")
def check_liveness() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


def _storage_problem(db: Database, blobs: BlobStore, settings: Settings) -> JSONResponse | None:
    """Writes would be lost (the SQLite file changed underneath) or fail soon (disk low)."""
    problem = db.file_problem()
    if problem is not None:
        detail = f"{problem}; writes are refused: restore the data directory and restart the server"
        return _unavailable(detail, "database_file_changed")
    places = [settings.data_dir]
    if db.sqlite_path is not None:
        places.append(db.sqlite_path.parent)
    if (local := getattr(blobs, "root", None)) is not None:
        places.append(local)
    low = low_space(places, settings.min_free_bytes)
    return None if low is None else _unavailable(low, "low_disk_space")


def _unavailable(detail: str, error: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "detail": detail, "error": error}, status_code=503)


@router.get("/readyz")
def check_readiness(db: DatabaseDep, blobs: BlobStoreDep, settings: SettingsDep) -> JSONResponse:
    """The database answers, its schema is the one this code expects, its file is still the
    one the server opened, the disk has room, and the blob store is usable."""
    if (storage_problem := _storage_problem(db, blobs, settings)) is not None:
        return storage_problem
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
