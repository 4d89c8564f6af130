"""The worker threads a request's database work runs in.

A request's unit of work blocks on the database (on PostgreSQL, a network round trip
that may stall), so it runs off the event loop: the token lookup, the handler's
statements and the commit. Starlette's ``run_in_threadpool`` (anyio) costs about 55 us
of CPU per hop at 16 requests in flight; a plain executor costs about 22 us, and a
PostgreSQL write makes three hops. These threads are Maestro's own, outside anyio's
limiter, like the bulkhead lanes (``maestro.bulkhead``): database work is bounded by
the connection pool, and a stalled blob store cannot take these threads.

Like anyio's, a hop is not abandoned when its caller is cancelled: the caller waits
for the work to end before the cancellation goes on, so a rollback never runs while
the handler's statements still use the session.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

WORKERS = 40  # as many as anyio's default limiter, which this work used before
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="maestro-db")


async def run_sync(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread, with the caller's context variables."""
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    future = asyncio.get_running_loop().run_in_executor(_POOL, call)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(future)
            break
        except asyncio.CancelledError:
            if future.done():
                raise
            cancelled = True  # wait for the thread; cancel once it is done
    if cancelled:
        raise asyncio.CancelledError
    return result
