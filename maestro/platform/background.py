"""A background loop: one daemon thread per server process that runs a pass of work when
woken and every ``interval`` seconds regardless.

The audit sequencer and the gate evaluator are both this loop around a different pass.
A pass never raises into the thread: a database that is away postpones it (a warning;
the work waits where it is, in a queue or behind a cursor) and any other failure is
logged with its traceback and retried on the next pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError


class BackgroundLoop:
    """Runs ``work`` on its own daemon thread: when woken (after ``settle`` seconds, so that
    wakes close together share one pass) and every ``interval`` seconds."""

    def __init__(
        self,
        work: Callable[[], object],
        *,
        name: str,
        log: logging.Logger,
        what: str,
        interval: float = 1.0,
        settle: float = 0.0,
        final_pass: bool = False,
    ) -> None:
        self._work = work
        self._name = name
        self._log = log
        self._what = what  # "audit sequencing": names the pass in its log lines
        self._interval = interval
        self._settle = settle
        self._final_pass = final_pass  # one more pass at stop, for what was woken for last
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._wake.set()  # a first pass at once, for what an earlier process left
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    @property
    def stopping(self) -> bool:
        """``stop`` was called: the pass running now is among the last."""
        return self._stop.is_set()

    def wake(self) -> None:
        """There is work: run a pass soon."""
        self._wake.set()

    def stop(self) -> None:
        """End the thread (after its final pass, when it has one); waits up to 10 s."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=10)

    def run_once(self) -> None:
        """One pass, as the thread runs it: logged, never raised."""
        try:
            self._work()
        except DBAPIError as exc:
            self._log.warning(f"{self._what} postponed", extra={"cause": type(exc.orig).__name__})
        except Exception:
            self._log.exception(f"{self._what} failed; it is retried on the next pass")

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(self._interval) and self._settle:
                self._stop.wait(self._settle)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.run_once()
        if self._final_pass:
            self.run_once()
