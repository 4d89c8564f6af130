"""The background loop shared by the audit sequencer and the gate evaluator: a pass runs
when woken, a failing pass is logged and the next one still runs, a database that is
away is a warning, and stop ends the thread (after a final pass, when asked for one)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from maestro.audit import signing_key
from maestro.db.engine import Database
from maestro.platform.background import BackgroundLoop
from maestro.verdicts.follower import GateFollower

log = logging.getLogger("tests.background")


def test_a_failing_pass_is_logged_and_the_next_wake_runs_another(caplog: pytest.LogCaptureFixture) -> None:
    passes: list[int] = []
    first, second = threading.Event(), threading.Event()

    def work() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            first.set()
            raise RuntimeError("boom")
        second.set()

    loop = BackgroundLoop(work, name="t", log=log, what="test work", interval=60)
    with caplog.at_level(logging.ERROR, logger="tests.background"):
        loop.start()  # the first pass runs at once, and fails
        try:
            assert first.wait(5)
            loop.wake()
            assert second.wait(5), "a wake after a failed pass ran no pass"
        finally:
            loop.stop()
    assert [r.getMessage() for r in caplog.records] == ["test work failed; it is retried on the next pass"]
    assert caplog.records[0].exc_info is not None  # the traceback is kept


def test_stop_runs_the_final_pass_only_when_asked() -> None:
    for final, expected in ((True, 2), (False, 1)):
        passes: list[int] = []
        first = threading.Event()

        def work(passes: list[int] = passes, first: threading.Event = first) -> None:
            passes.append(1)
            first.set()

        loop = BackgroundLoop(work, name="t", log=log, what="w", interval=60, final_pass=final)
        loop.start()
        assert first.wait(5)
        loop.stop()
        assert len(passes) == expected, final
        loop.stop()  # a second stop is harmless


def test_the_gate_evaluator_postpones_while_the_database_is_away(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    away = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'm.db'}")
    follower = GateFollower(away, lambda: signing_key.load(tmp_path, None, None))
    with caplog.at_level(logging.WARNING, logger="maestro.gates"):
        follower.run_once()  # what the thread runs: it must log and carry on, never raise
    assert [r.getMessage() for r in caplog.records] == ["gate evaluation postponed"]
