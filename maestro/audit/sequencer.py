"""The sequencer: moves queued audit events into their tenants' trees.

Writers queue events without a lock (``recorder.enqueue``); one sequencer per
server process integrates them in batches. With several processes or replicas
each runs its own, and the head row lock makes them take turns per tenant: the
second finds the queue already drained. So appends neither fork a tree nor make
one tenant's writers wait on each other, and a batch costs one transaction
however many writers fed it.

It wakes when this process commits an event (after ``settle`` seconds, so that
concurrent commits share one batch) and then integrates only the tenants it was woken
for; at least every ``interval`` seconds a pass asks the queue which tenants have
events, for those other processes queued (other replicas, a crashed process's last
commits, the gate evaluator's; a CLI command integrates its own). A pass costs about
ten round trips however many events it moves, so the settle time sets how many passes
a busy server makes: 0.25 s keeps a pass's share of an event's cost small while an
acknowledged change is in the tree well within the 2 s target (``bench/checkpoint_lag.py``).
A read of the log integrates its tenant first (``integrate_now``), so a client always
reads its own writes there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from maestro.audit import recorder
from maestro.db.engine import Database
from maestro.platform.background import BackgroundLoop

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


class Sequencer(BackgroundLoop):
    """The process's sequencer thread: the woken tenants when this process committed
    events, ``integrate_all`` at least every ``interval`` s; a last pass at stop
    integrates everything queued (server shutdown)."""

    def __init__(
        self,
        db: Database,
        *,
        interval: float = 1.0,
        settle: float = 0.25,
        after_pass: Callable[[], object] | None = None,
    ) -> None:
        self._woken: set[str] = set()
        self._woken_lock = threading.Lock()
        self._survey_due = 0.0  # time.monotonic() of the next pass over every tenant

        def work() -> None:
            with self._woken_lock:
                tenants, self._woken = self._woken, set()
            now = time.monotonic()
            if not tenants or now >= self._survey_due or self.stopping:
                self._survey_due = now + interval
                moved = integrate_all(db)
            else:
                moved = sum(_drain(db, tenant) for tenant in sorted(tenants))
            if moved and after_pass is not None:
                after_pass()  # the gate evaluator follows the log it just grew

        super().__init__(
            work,
            name="maestro-audit-sequencer",
            log=log,
            what="audit sequencing",
            interval=interval,
            settle=settle,
            final_pass=True,
        )

    def wake_for(self, tenant_id: str) -> None:
        """This process committed events of ``tenant_id``: integrate them soon."""
        with self._woken_lock:
            self._woken.add(tenant_id)
        self.wake()
