"""The request's worker threads: the caller's context goes with the work, errors come
back as raised, and a cancelled caller waits for the work to end (a rollback must never
run while the handler still uses the session)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from maestro.platform.threads import run_sync

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def test_the_work_runs_off_the_loop_with_the_callers_context() -> None:
    async def main() -> tuple[str, bool]:
        REQUEST_ID.set("r-1")
        loop_thread = threading.get_ident()
        return await run_sync(lambda: (REQUEST_ID.get(), threading.get_ident() != loop_thread))

    assert asyncio.run(main()) == ("r-1", True)


def test_an_error_in_the_work_is_raised_to_the_caller() -> None:
    def fail(message: str) -> None:
        raise LookupError(message)

    async def main() -> None:
        await run_sync(fail, "gone")

    with pytest.raises(LookupError, match="gone"):
        asyncio.run(main())


def test_a_cancelled_caller_waits_for_the_work_then_is_cancelled() -> None:
    events: list[str] = []
    started = threading.Event()

    def work() -> None:
        started.set()
        time.sleep(0.3)
        events.append("work ended")

    async def caller() -> None:
        try:
            await run_sync(work)
        except asyncio.CancelledError:
            events.append("caller cancelled")
            raise

    async def main() -> None:
        task = asyncio.create_task(caller())
        while not started.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        task.cancel()  # a second cancellation does not end the wait early either
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert events == ["work ended", "caller cancelled"]
