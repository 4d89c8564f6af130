"""Liveness and readiness probes.

``/healthz`` is ``async`` and touches nothing: it runs on the event loop, so no
thread pool a dependency can fill stands between it and an answer.

``/readyz`` runs every check at once in its own small thread pool and answers
within ``DEADLINE`` seconds whatever the dependencies do: a check still
running then is reported as ``timeout``. Each check runs at most once at a
time (a probe arriving while the last one's check is still stuck waits on that
same check instead of starting another thread), so a stalled S3 polled every
second does not pile up threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from maestro.blobs.base import BlobStore
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.db.migrate import current_revision, head_revision
from maestro.diskspace import low_space
from maestro.errors import DependencyUnavailable
from maestro.services.intelgraph import IntelGraph

router = APIRouter(tags=["health"])
DEADLINE = 1.5  # seconds; probes typically give up at 2


class CheckFailed(Exception):
    """A readiness check's answer when the dependency is not usable."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Check:
    """One named check: a blocking function (run in the probe's threads) or a coroutine
    function (run on the loop). It returns facts to report or raises ``CheckFailed``.
    ``required`` checks make /readyz 503; the others only report."""

    name: str
    run: Callable[[], dict[str, Any]] | Callable[[], Awaitable[dict[str, Any]]]
    required: bool = True
    timeout_code: str = "dependency_unavailable"


class Readiness:
    """The checks of one app and their in-flight futures (single flight per check)."""

    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks
        self._pool = concurrent.futures.ThreadPoolExecutor(len(checks), thread_name_prefix="readyz")
        self._inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def _future(self, check: Check) -> asyncio.Future[dict[str, Any]]:
        current = self._inflight.get(check.name)
        if current is not None and not current.done() and current.get_loop() is asyncio.get_running_loop():
            return current
        run = check.run
        if inspect.iscoroutinefunction(run):
            current = asyncio.ensure_future(run())
        else:
            current = asyncio.wrap_future(self._pool.submit(cast(Callable[[], dict[str, Any]], run)))
        current.add_done_callback(_consume)
        self._inflight[check.name] = current
        return current

    async def report(self) -> tuple[int, dict[str, Any]]:
        started = time.monotonic()
        futures = [self._future(check) for check in self.checks]
        # asyncio.wait cancels nothing: a check still running is left for the next probe to reuse
        await asyncio.wait(futures, timeout=DEADLINE)
        results: dict[str, dict[str, Any]] = {}
        failure: tuple[str, str] | None = None
        for check, future in zip(self.checks, futures, strict=True):
            for name, result in _outcome(check, future).items():
                results[name] = result
                if check.required and result["status"] != "ok" and failure is None:
                    failure = (result.get("error", check.timeout_code), result.get("detail", ""))
        body = _body(results, failure)
        body["ms"] = round((time.monotonic() - started) * 1000, 1)
        return (503 if failure else 200), body

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _consume(future: asyncio.Future[dict[str, Any]]) -> None:
    """Retrieve a finished check's exception so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


def _outcome(check: Check, future: asyncio.Future[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The check's entries: usually one; the database check also reports the schema."""
    if not future.done():
        detail = f"{check.name} did not answer within {DEADLINE:g} s"
        return {check.name: {"status": "timeout", "error": check.timeout_code, "detail": detail}}
    exc = future.exception()
    if isinstance(exc, CheckFailed):
        return {check.name: {"status": "unavailable", "error": exc.code, "detail": exc.detail}}
    if exc is not None:
        detail = f"{check.name} failed: {type(exc).__name__}"
        return {check.name: {"status": "unavailable", "error": check.timeout_code, "detail": detail}}
    facts = dict(future.result())
    extra = facts.pop("also", {})
    return {check.name: {"status": "ok", **facts}, **extra}


def _body(results: dict[str, dict[str, Any]], failure: tuple[str, str] | None) -> dict[str, Any]:
    """The first releases' flat fields (database, schema, blobs) plus every check under ``checks``."""
    flat: dict[str, Any] = {
        name: results[name].get("value") for name in ("database", "schema", "blobs") if name in results
    }
    degraded = [name for name, result in results.items() if result["status"] != "ok"]
    if failure is not None:
        code, detail = failure
        return {"status": "unavailable", "detail": detail, "error": code, **flat, "checks": results}
    return {"status": "degraded" if degraded else "ok", **flat, "checks": results}


def database_check(db: Database) -> Check:
    """The database answers, and its schema revision is this release's (one connection)."""

    def run() -> dict[str, Any]:
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                current = current_revision(conn)
        except SQLAlchemyError as exc:
            raise CheckFailed("database_unavailable", f"database unreachable: {type(exc).__name__}") from None
        head = head_revision()
        schema: dict[str, Any] = {"status": "ok", "value": current}
        if current != head:
            schema = {
                "status": "unavailable",
                "value": current,
                "error": "schema_not_current",
                "detail": f"database schema is at {current!r}, this release needs {head!r}; "
                "run `maestro db upgrade`",
            }
        return {"value": db.dialect, "also": {"schema": schema}}

    return Check("database", run, timeout_code="database_unavailable")


def blob_check(blobs: BlobStore) -> Check:
    def run() -> dict[str, Any]:
        try:
            blobs.check()
        except Exception as exc:  # any failure of the store's client means "not ready"
            raise CheckFailed(
                "blob_store_unavailable", f"blob store {blobs.describe()} unusable: {type(exc).__name__}"
            ) from None
        return {"value": blobs.describe()}

    return Check("blobs", run, timeout_code="blob_store_unavailable")


def intelgraph_check(intelgraph: IntelGraph) -> Check:
    """Reported, not required: without IntelGraph only run writes that link ids fail, and
    taking every replica out of service would fail everything else too."""

    async def run() -> dict[str, Any]:
        try:
            await intelgraph.check()
        except DependencyUnavailable as exc:
            raise CheckFailed("dependency_unavailable", exc.detail) from None
        return {"value": intelgraph.describe()}

    return Check("intelgraph", run, required=False)


def storage_check(db: Database, blobs: BlobStore, settings: Settings) -> Check:
    """Writes would be lost (the SQLite file changed underneath) or fail soon (disk low).
    First in the list, so its failure is the one /readyz names."""

    def run() -> dict[str, Any]:
        problem = db.file_problem()
        if problem is not None:
            detail = f"{problem}; writes are refused: restore the data directory and restart the server"
            raise CheckFailed("database_file_changed", detail)
        places = [settings.data_dir]
        if db.sqlite_path is not None:
            places.append(db.sqlite_path.parent)
        if (local := getattr(blobs, "root", None)) is not None:
            places.append(local)
        low = low_space(places, settings.min_free_bytes)
        if low is not None:
            raise CheckFailed("low_disk_space", low)
        return {"value": "ok"}

    return Check("storage", run)


def readiness_for(
    db: Database, blobs: BlobStore, intelgraph: IntelGraph | None, settings: Settings
) -> Readiness:
    checks = [storage_check(db, blobs, settings), database_check(db), blob_check(blobs)]
    if intelgraph is not None:
        checks.append(intelgraph_check(intelgraph))
    return Readiness(checks)


@router.get("/healthz")
async def check_liveness() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz")
async def check_readiness(request: Request) -> JSONResponse:
    """Each dependency's state (database, schema, blob store, IntelGraph when configured),
    checked concurrently; 503 when a required one is not usable. Answers within 2 s."""
    readiness: Readiness = request.app.state.readiness
    status, body = await readiness.report()
    return JSONResponse(body, status_code=status)
