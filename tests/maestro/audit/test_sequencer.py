"""The audit queue and its sequencer, on both databases: queued events reach the tree in
queue order, exactly once, with nothing left behind; concurrent sequencers (other
replicas) never fork a tree; the background thread integrates within its deadline;
a queued event the sequencer could not build is refused when it is queued."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from maestro.audit import merkle, recorder, repository, sequencer
from maestro.audit.event import Actor, EventDraft, EventError
from maestro.db.audit_tables import AuditEventRow, AuditPendingRow
from maestro.db.engine import Database
from tests.maestro.audit_support import draft

NOW = datetime(2026, 12, 2, 10, 0, 0, 123000, tzinfo=UTC)


def _enqueue(db: Database, tenant: str, *ns: int) -> None:
    with db.write() as session:
        recorder.enqueue(session, tenant_id=tenant, events=[draft(n) for n in ns], now=NOW)


def _pending(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditPendingRow)) or 0)


def _requests(db: Database, tenant: str) -> list[str | None]:
    with db.read() as session:
        events, _ = repository.list_events(session, tenant, repository.AuditFilter(), 10**6, None)
    return [e.event["request_id"] for e in events]


def test_queued_events_join_the_tree_in_queue_order_once(maestro_store: Database) -> None:
    _enqueue(maestro_store, "alpha", 0, 1)
    _enqueue(maestro_store, "beta", 2)
    _enqueue(maestro_store, "alpha", 3)
    assert _requests(maestro_store, "alpha") == []  # queued, not yet in the tree
    assert sequencer.integrate_all(maestro_store) == 4
    assert _pending(maestro_store) == 0
    assert _requests(maestro_store, "alpha") == ["req-0", "req-1", "req-3"]
    assert _requests(maestro_store, "beta") == ["req-2"]
    assert sequencer.integrate_all(maestro_store) == 0  # nothing twice
    with maestro_store.read() as session:
        events, _ = repository.list_events(session, "alpha", repository.AuditFilter(), 10, None)
        assert [e.event["at"] for e in events] == ["2026-12-02T10:00:00.123Z"] * 3  # the change's time
        head = repository.head(session, "alpha")
        assert head.size == 3
        assert head.root == merkle.root([e.leaf_hash for e in events])


def test_a_rolled_back_change_queues_nothing(maestro_store: Database) -> None:
    def fail_after_queueing() -> None:
        with maestro_store.write() as session:
            recorder.enqueue(session, tenant_id="alpha", events=[draft(0)], now=NOW)
            raise RuntimeError("the request failed after its event was queued")

    with pytest.raises(RuntimeError):
        fail_after_queueing()
    assert _pending(maestro_store) == 0
    assert sequencer.integrate_now(maestro_store, "alpha") == 0


def test_integrate_moves_batches_until_the_queue_is_empty(
    maestro_store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "BATCH", 4)
    _enqueue(maestro_store, "alpha", *range(10))
    assert sequencer.integrate_now(maestro_store, "alpha") == 10
    assert _requests(maestro_store, "alpha") == [f"req-{n}" for n in range(10)]


def test_concurrent_sequencers_never_fork_a_tree(maestro_store: Database) -> None:
    """Writers queue while four sequencers (as four replicas would) integrate at once:
    every queued event lands exactly once, at dense indexes, and the head agrees."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(first: int) -> None:
        try:
            for n in range(first, first + 60):
                _enqueue(maestro_store, "alpha", n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sequence() -> None:
        try:
            while not stop.is_set():
                sequencer.integrate_all(maestro_store)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(1000 * w,)) for w in range(4)]
    sequencers = [threading.Thread(target=sequence) for _ in range(4)]
    for thread in writers + sequencers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in sequencers:
        thread.join()
    assert errors == []
    sequencer.integrate_all(maestro_store)
    assert _pending(maestro_store) == 0
    with maestro_store.read() as session:
        rows = session.execute(
            select(AuditEventRow.idx, AuditEventRow.request_id, AuditEventRow.leaf_hash)
            .where(AuditEventRow.tenant_id == "alpha")
            .order_by(AuditEventRow.idx)
        ).all()
        assert [r.idx for r in rows] == list(range(240))
        expected = sorted(f"req-{1000 * w + n}" for w in range(4) for n in range(60))
        assert sorted(r.request_id for r in rows) == expected
        numbers = [int(r.request_id.split("-")[1]) for r in rows]
        for w in range(4):  # each writer's events keep the order it committed them in
            mine = [n for n in numbers if n // 1000 == w]
            assert mine == sorted(mine)
        head = repository.head(session, "alpha")
        assert (head.size, head.root) == (240, merkle.root([r.leaf_hash for r in rows]))


def _wait_until_empty(db: Database, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _pending(db) and time.monotonic() < deadline:
        time.sleep(0.01)
    return _pending(db) == 0


def test_the_background_sequencer_integrates_within_its_deadline(maestro_store: Database) -> None:
    worker = sequencer.Sequencer(maestro_store, interval=0.5, settle=0.05)
    worker.start()
    try:
        _enqueue(maestro_store, "alpha", 0)  # another process's event: found by the periodic pass
        assert _wait_until_empty(maestro_store, 2)
        _enqueue(maestro_store, "alpha", 1)
        worker.wake_for("alpha")  # this process's commit: integrated at once (after settle)
        assert _wait_until_empty(maestro_store, 0.4)
        _enqueue(maestro_store, "alpha", 2)
    finally:
        worker.stop()  # a last pass at shutdown
    assert _pending(maestro_store) == 0
    assert _requests(maestro_store, "alpha") == ["req-0", "req-1", "req-2"]


def test_a_woken_pass_takes_its_tenants_and_a_survey_finds_the_rest(maestro_store: Database) -> None:
    """Woken for alpha, a pass integrates alpha only (no survey of the queue); beta's event,
    queued by another process, waits for the periodic survey, which comes even while wakes
    for alpha never stop; the pass at stop takes every tenant."""
    worker = sequencer.Sequencer(maestro_store, interval=1.0, settle=0.02)
    worker.start()
    try:
        assert _wait_until_empty(maestro_store, 1)  # the first pass, a survey, is over
        time.sleep(0.1)
        _enqueue(maestro_store, "beta", 0)
        _enqueue(maestro_store, "alpha", 1)
        worker.wake_for("alpha")
        deadline = time.monotonic() + 0.5
        while _requests(maestro_store, "alpha") != ["req-1"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _requests(maestro_store, "alpha") == ["req-1"]
        assert _requests(maestro_store, "beta") == []  # not woken for, not yet surveyed
        start, n = time.monotonic(), 2
        while _requests(maestro_store, "beta") == [] and time.monotonic() - start < 3:
            _enqueue(maestro_store, "alpha", n)  # a busy tenant keeps waking it
            worker.wake_for("alpha")
            n += 1
            time.sleep(0.03)
        assert _requests(maestro_store, "beta") == ["req-0"]
        assert time.monotonic() - start < 1.5  # within the survey interval, not after the load
        _enqueue(maestro_store, "gamma", 99)  # never woken for
    finally:
        worker.stop()
    assert _pending(maestro_store) == 0
    assert _requests(maestro_store, "gamma") == ["req-99"]


def test_an_event_the_sequencer_could_not_build_is_refused_when_queued(maestro_store: Database) -> None:
    bad = [
        EventDraft("Run Create", Actor(None, "admin")),
        EventDraft("run.create", Actor(None, "admin"), request_id="x" * 200),
        EventDraft("run.create", Actor(None, "admin"), state_sha256="not-hex"),
        EventDraft("run.create", Actor(None, "admin"), at=datetime(2026, 1, 1)),  # naive
    ]
    for event in bad:
        with maestro_store.write() as session, pytest.raises(EventError):
            recorder.enqueue(session, tenant_id="alpha", events=[event], now=NOW)
    assert _pending(maestro_store) == 0


def test_a_write_is_in_the_log_it_reads_back_at_once(client: TestClient) -> None:
    """A log read integrates its tenant first: no waiting for the background pass."""
    client.app.state.audit_sequencer.stop()  # type: ignore[attr-defined]  # only the read may integrate
    client.app.state.gate_follower.stop()  # type: ignore[attr-defined]  # it would add gate.evaluated events
    run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()
    events = client.get("/maestro/audit", params={"object_id": run["id"]}).json()
    assert [e["event"]["action"] for e in events] == ["run.create"]
    size = int(client.get("/maestro/audit/checkpoint").text.splitlines()[1])
    assert size == len(client.get("/maestro/audit").json())


def test_a_database_away_postpones_sequencing_without_failing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    away = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'm.db'}")
    worker = sequencer.Sequencer(away)
    with caplog.at_level(logging.WARNING, logger="maestro.audit"):
        worker.run_once()  # what the thread runs: it must log and carry on, never raise
    assert [r.getMessage() for r in caplog.records] == ["audit sequencing postponed"]
