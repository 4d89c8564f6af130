"""The sequencer: moves queued audit events into their tenants' trees.

Writers queue events without a lock (``recorder.enqueue``); one sequencer per
server process integrates them in batches. With several processes or replicas
each runs its own, and the head row lock makes them take turns per tenant: the
second finds the queue already drained. So appends neither fork a tree nor make
one tenant's writers wait on each other, and a batch costs one transaction
however many writers fed it.

It wakes when this process commits an event (after ``settle`` seconds, so that
concurrent commits share one batch) and every ``interval`` seconds regardless,
for events other processes queued (other replicas, a crashed process's last
commits; a CLI command integrates its own). A read of the log integrates its tenant first
(``integrate_now``), so a client always reads its own writes there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from maestro.audit import recorder
from maestro.db.engine import Database

log = logging.getLogger("maestro.audit")


def integrate_now(db: Database, tenant_id: str) -> int:
    """Integrate every event of the tenant committed so far; how many moved. A read
    (one indexed row) first, so a log read with nothing queued takes no write lock."""
    with db.probe() as conn:
        if not recorder.has_pending(conn, tenant_id):
            return 0
    return _drain(db, tenant_id)


def _drain(db: Database, tenant_id: str) -> int:
    moved = 0
    while True:
        with db.write() as session:
            batch = recorder.integrate(session, tenant_id, limit=recorder.BATCH)
        moved += batch
        if batch < recorder.BATCH:
            return moved


def integrate_all(db: Database) -> int:
    """One pass over every tenant with queued events."""
    with db.probe() as conn:
        tenants = recorder.pending_tenants(conn)
    return sum(_drain(db, tenant) for tenant in tenants)


class Sequencer:
    """A daemon thread running ``integrate_all`` when woken and every ``interval`` s."""

    def __init__(
        self,
        db: Database,
        *,
        interval: float = 1.0,
        settle: float = 0.1,
        after_pass: Callable[[], object] | None = None,
    ) -> None:
        self._db = db
        self._after_pass = after_pass  # the gate evaluator follows the log it just grew
        self._interval = interval
        self._settle = settle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._wake.set()
            self._thread = threading.Thread(target=self._run, name="maestro-audit-sequencer", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """An event was committed: integrate it soon."""
        self._wake.set()

    def stop(self) -> None:
        """Integrate what is queued, then end (at server shutdown)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(self._interval):
                self._stop.wait(self._settle)
            self._wake.clear()
            self._pass()
        self._pass()

    def _pass(self) -> None:
        try:
            if integrate_all(self._db) and self._after_pass is not None:
                self._after_pass()
        except DBAPIError as exc:  # the database is away: the events wait in the queue
            log.warning("audit sequencing postponed", extra={"cause": type(exc.orig).__name__})
        except Exception:
            log.exception("audit sequencing failed; the events stay queued")
