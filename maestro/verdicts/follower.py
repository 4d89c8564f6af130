"""The gate evaluator: follows each tenant's audit log and re-evaluates what a change touched.

Every change Maestro makes is an audit event, so the log is the change feed: a run's
event re-evaluates that run, an artifact's the artifact's run, and a change to what
judges every run (a policy, an assignment, a waiver, a trusted key) re-evaluates all
of the tenant's runs, in chunks. The cursor (``gate_cursors``) moves past a batch of
events only after its evaluations are recorded, so a crash repeats work (recorded at
most once, by outcome) and never skips it. The evaluator's own ``gate.evaluated``
events re-evaluate the runs that depend on that run (their input holds its verdict), so a
verdict travels down the lineage one recorded hop at a time.

It runs in each server process beside the audit sequencer, which wakes it after every
pass; ``follow_all`` is also what tests and CLI maintenance call directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from maestro.audit import sequencer
from maestro.audit.signing_key import Signer
from maestro.db.engine import Database
from maestro.platform.background import BackgroundLoop
from maestro.platform.uow import DetachedScope
from maestro.runs import repository as run_repository
from maestro.verdicts import repository, service
from maestro.verdicts.repository import LoggedChange

log = logging.getLogger("maestro.gates")

BATCH = 500  # audit events read per step
CHUNK = 200  # runs evaluated per read transaction
MAX_HOPS = 52  # lineage is at most 50 deep (maestro.runs.lineage): a read catches up past it
TENANT_WIDE = ("policy.", "policy_assignment.", "waiver.", "trusted_key.")


def _now() -> datetime:
    return datetime.now(UTC)


def _targets(scope: DetachedScope, changes: list[LoggedChange]) -> tuple[list[str], bool]:
    """The runs a batch of changes touched, or (…, True) when every run is touched."""
    runs: set[str] = set()
    artifacts: set[str] = set()
    judged: set[str] = set()
    for change in changes:
        if change.object_id is None:
            continue
        if change.action == service.ACTION:  # a run's verdict was recorded: its dependants read it
            judged.add(change.object_id)
            continue
        if change.action.startswith(TENANT_WIDE):
            return [], True
        if change.object_type == "run":
            runs.add(change.object_id)
        elif change.object_type == "artifact":
            artifacts.add(change.object_id)
    runs |= repository.runs_of_artifacts(scope, artifacts)
    runs |= set(run_repository.dependants_of(scope, judged))
    return sorted(runs), False  # a run deleted meanwhile is skipped when its chunk is read


def follow_tenant(
    db: Database, signer: Signer, tenant_id: str, *, clock: Callable[[], datetime] = _now
) -> int:
    """Evaluate everything the tenant's log holds past its cursor; evaluations recorded."""
    recorded = 0
    while True:
        with db.read() as session:
            start = repository.cursors(session).get(tenant_id, 0)
            changes = repository.changes(session, tenant_id, start, BATCH)
            if not changes:
                return recorded
            runs, everything = _targets(DetachedScope(session, tenant_id), changes)
        trigger = f"{changes[-1].action}@{changes[-1].index}"
        if everything:
            after = ""
            while True:
                with db.read() as session:
                    chunk = repository.run_ids_after(DetachedScope(session, tenant_id), after, CHUNK)
                if not chunk:
                    break
                recorded += service.evaluate_runs(db, signer, tenant_id, chunk, trigger, clock)
                after = chunk[-1]
        else:
            for i in range(0, len(runs), CHUNK):
                recorded += service.evaluate_runs(db, signer, tenant_id, runs[i : i + CHUNK], trigger, clock)
        with db.write() as session:
            # False: another evaluator (a replica, the background thread) moved the cursor
            # past this batch first; either way go on from wherever it now stands
            repository.advance_cursor(session, tenant_id, start, changes[-1].index + 1)


def catch_up(db: Database, signer: Signer, tenant_id: str) -> None:
    """Evaluate every change the tenant committed so far, down the whole lineage: a read
    of recorded verdicts calls it first, so a client reads the effect of its own writes.
    Each recorded hop queues an event that reaches the log on the next integration."""
    for _ in range(MAX_HOPS):
        sequencer.integrate_now(db, tenant_id)
        if not follow_tenant(db, signer, tenant_id):
            break
    sequencer.integrate_now(db, tenant_id)  # what a racing evaluator recorded meanwhile


def follow_all(
    db: Database,
    signer: Signer,
    *,
    clock: Callable[[], datetime] = _now,
    on_recorded: Callable[[str], object] | None = None,
) -> int:
    """One pass over every tenant whose log grew past its cursor; ``on_recorded`` is told
    each tenant whose evaluations (and their queued events) were recorded."""
    with db.read() as session:
        sizes, seen = repository.tree_sizes(session), repository.cursors(session)
    recorded = 0
    for tenant, size in sorted(sizes.items()):
        if size > seen.get(tenant, 0):
            made = follow_tenant(db, signer, tenant, clock=clock)
            if made and on_recorded is not None:
                on_recorded(tenant)
            recorded += made
    return recorded


class GateFollower(BackgroundLoop):
    """The process's evaluator thread: ``follow_all`` when the sequencer grew a log and
    every ``interval`` s (for what other replicas integrated). ``on_recorded`` (the
    sequencer's ``wake_for``) hears of each tenant it queued ``gate.evaluated`` events in."""

    def __init__(self, db: Database, signer: Callable[[], Signer], *, interval: float = 1.0) -> None:
        self.on_recorded: Callable[[str], object] | None = None
        super().__init__(
            lambda: follow_all(db, signer(), on_recorded=self.on_recorded),
            name="maestro-gate-evaluator",
            log=log,
            what="gate evaluation",
            interval=interval,
        )
