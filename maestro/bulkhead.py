"""Bulkheads: work that waits on one dependency runs in that dependency's own lane.

FastAPI runs every sync endpoint and sync dependency in anyio's default thread
limiter: 40 tokens shared by the whole process. A call that blocks on a stalled
S3 while holding one of those tokens takes it from ``GET /maestro/runs`` too;
45 such downloads once left nothing for anyone. A ``Lane`` gives such calls
their own, bounded set of worker threads instead, and a caller that finds the
lane full waits at most ``wait`` seconds for it before it is refused with a
503 (the error ``busy`` builds), so a stalled dependency can only slow the
requests that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

from maestro.errors import DependencyUnavailable, MaestroError, Overloaded

T = TypeVar("T")


class Lane:
    """At most ``size`` calls at once, each in a worker thread outside the default limiter."""

    def __init__(self, name: str, size: int, wait: float, busy: Callable[[], MaestroError]) -> None:
        self.name = name
        self.size = size
        self.wait = wait
        self._busy = busy
        # Limiters belong to one event loop; a RunVar keeps one pair per loop (tests run several).
        self._limiters: RunVar[tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]] = RunVar(f"lane:{name}")

    def _pair(self) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
        pair = self._limiters.get(None)
        if pair is None:
            # admission (waited for with a deadline) and the threads themselves (never contended)
            pair = (anyio.CapacityLimiter(self.size), anyio.CapacityLimiter(self.size))
            self._limiters.set(pair)
        return pair

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a lane thread; the lane's ``busy`` error when no
        slot frees up within ``wait`` seconds."""
        admission, threads = self._pair()
        ticket, admitted = object(), False
        with anyio.move_on_after(self.wait):
            await admission.acquire_on_behalf_of(ticket)
            admitted = True
        if not admitted:
            raise self._busy()
        try:
            return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=threads)
        finally:
            admission.release_on_behalf_of(ticket)


class Lanes:
    """The lanes of one app: ``blobs`` for blob-store reads, ``uploads`` for the upload
    pipeline (parse, store, attach), which waits on the parser and the blob store."""

    def __init__(self, *, blob_calls: int, blob_wait: float, parses: int, parse_wait: float) -> None:
        self.blobs = Lane("blobs", blob_calls, blob_wait, lambda: _busy_blobs(blob_calls, blob_wait))
        uploads = blob_calls + parses
        self.uploads = Lane("uploads", uploads, parse_wait, lambda: _busy_uploads(uploads, parse_wait))


def _busy_blobs(size: int, wait: float) -> MaestroError:
    error = DependencyUnavailable(
        f"the blob store is busy: {size} transfers already in flight for over {wait:g} s; retry later"
    )
    error.retry_after = 1
    return error


def _busy_uploads(size: int, wait: float) -> MaestroError:
    return Overloaded(
        f"{size} uploads are already being processed and this one waited {wait:g} s; "
        "nothing was kept, retry later"
    )
