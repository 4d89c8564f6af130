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
    """The process's sequencer thread: ``integrate_all`` when an event was committed and
    every ``interval`` s; a last pass at stop integrates what is queued (server shutdown)."""

    def __init__(
        self,
        db: Database,
        *,
        interval: float = 1.0,
        settle: float = 0.1,
        after_pass: Callable[[], object] | None = None,
    ) -> None:
        def work() -> None:
            if integrate_all(db) and after_pass is not None:
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
