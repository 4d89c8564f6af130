"""How long an acknowledged change waits before it is in the audit tree (issue 9, target d).

    .venv/bin/python bench/checkpoint_lag.py [--db sqlite,postgres] [--seconds 5]

A change commits its audit event into ``audit_pending`` (``maestro.audit.recorder.
enqueue``); the server's sequencer thread later moves it into the tenant's Merkle
tree. Checkpoints are signed from the tree's head when asked for, so an event is in
every checkpoint signed once it left the queue: the lag to measure is the age of the
oldest queued row. While 16 writers create runs (``wrk -c16`` against the shipped
server, local mode, fresh migrated database) a thread here reads
``count(*), min(at)`` of ``audit_pending`` every 50 ms straight from the database,
and keeps reading after the load stops until the queue is empty. ``at`` is the
event's time, taken just before its transaction commits, so the age slightly
overstates how long an acknowledged change waited. Target: max age <= 2 s.
No log reads happen meanwhile: they would integrate on demand and hide the lag.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR.parent) not in sys.path:
    sys.path.insert(1, str(BENCH_DIR.parent))

import loadgen  # noqa: E402
import maestro_target  # noqa: E402
import servers  # noqa: E402
from sqlalchemy import Table, create_engine, func, select  # noqa: E402

from maestro.db.audit_tables import AuditEventRow, AuditPendingRow  # noqa: E402

PENDING = cast(Table, AuditPendingRow.__table__)
EVENTS = cast(Table, AuditEventRow.__table__)
TARGET_S = 2.0
CREATE_BODY = '{"name": "lag-{n}", "owner": "bench-writer", "cost_estimate": 1.5}'


@dataclass
class LagResult:
    """What the sampler saw during one load run (ages in seconds)."""

    db: str
    writers: int
    load_s: float
    acknowledged: int  # 201 responses wrk received
    rps: float
    samples: int = 0
    max_age_s: float = 0.0
    mean_age_s: float = 0.0  # over samples with a non-empty queue
    max_queued: int = 0
    drain_s: float | None = None  # from the end of the load until the queue was empty
    integrated: int = 0  # run.create events in the tree at the end
    sample_errors: int = 0
    ages: list[float] = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        """Within the target, and the tree holds an event for every acknowledged create."""
        return self.max_age_s <= TARGET_S and self.integrated >= self.acknowledged

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("ages")
        doc["passed"] = self.passed
        return doc


class PendingSampler:
    """A thread reading the queue's size and oldest row every ``interval`` seconds."""

    def __init__(self, url: str, result: LagResult, interval: float = 0.05) -> None:
        self._engine = create_engine(url)
        self._result = result
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pending-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def sample(self) -> int:
        """One reading; how many rows are queued."""
        with self._engine.connect() as conn:
            count, oldest = conn.execute(select(func.count(), func.min(PENDING.c.at))).one()
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            age = max((datetime.now(UTC) - oldest).total_seconds(), 0.0)
            self._result.ages.append(age)
        r = self._result
        r.samples += 1
        r.max_age_s = max(r.max_age_s, age)
        r.max_queued = max(r.max_queued, int(count))
        return int(count)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.sample()
            except Exception:  # a busy database now and then: count it, keep sampling
                self._result.sample_errors += 1
            self._stop.wait(max(self._interval - (time.monotonic() - started), 0.0))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait_empty(self, timeout_s: float) -> float | None:
        """After the load: seconds until a reading finds the queue empty (None: it never did)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            try:
                if self.sample() == 0:
                    return time.monotonic() - started
            except Exception:
                self._result.sample_errors += 1
            time.sleep(self._interval)
        return None

    def integrated(self) -> int:
        with self._engine.connect() as conn:
            query = select(func.count()).select_from(EVENTS).where(EVENTS.c.action == "run.create")
            return int(conn.execute(query).scalar_one())

    def close(self) -> None:
        self._engine.dispose()


def measure(db: str, workdir: Path, *, seconds: int = 5, writers: int = 16) -> LagResult:
    """One load run of ``writers`` concurrent creates against a fresh database of ``db``."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan = maestro_target.Plan(concurrencies=[writers], seconds=seconds, warmup_s=0)
    spec = servers.ServerSpec()
    request = loadgen.Request("POST", "/maestro/runs", CREATE_BODY, expected_status=201)
    with maestro_target.fresh_database(db, workdir) as url:
        print(f"checkpoint lag/{db}: migrating", flush=True)
        maestro_target.migrate(url)
        with maestro_target.serving(spec, url, plan, workdir, db) as server:
            loadgen.run_wrk(server.base_url, request, writers, 1, "lagwarm")  # imports, pools, the head row
            result = LagResult(db, writers, 0.0, 0, 0.0)
            sampler = PendingSampler(url, result)
            try:
                sampler.wait_empty(10)  # the warm-up's events are not measured
                result.samples, result.max_age_s, result.max_queued, result.ages = 0, 0.0, 0, []
                sampler.start()
                raw = loadgen.run_wrk(server.base_url, request, writers, seconds, "lag")
                sampler.stop()
                result.drain_s = sampler.wait_empty(30)
                result.integrated = sampler.integrated()
            finally:
                sampler.close()
    result.load_s = round(raw["duration_us"] / 1e6, 3)
    result.acknowledged = int(raw["requests"]) - int(raw["unexpected_status"])
    result.rps = round(raw["requests"] / result.load_s, 1) if result.load_s else 0.0
    result.mean_age_s = round(sum(result.ages) / len(result.ages), 3) if result.ages else 0.0
    result.max_age_s = round(result.max_age_s, 3)
    result.drain_s = None if result.drain_s is None else round(result.drain_s, 3)
    return result


def describe(r: LagResult) -> str:
    drain = "never" if r.drain_s is None else f"{r.drain_s:.2f} s"
    return (
        f"[{r.db}] {r.writers} writers, {r.load_s:.1f} s, {r.acknowledged} acknowledged ({r.rps:.0f}/s): "
        f"oldest queued event max {r.max_age_s:.3f} s, mean {r.mean_age_s:.3f} s, "
        f"queue max {r.max_queued} rows, {r.samples} samples; empty {drain} after the load; "
        f"{r.integrated} run.create events in the tree"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Age of the oldest queued audit event under 16 writers.")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR / ".work-lag")
    args = parser.parse_args()
    import procs  # here: only the command installs signal handlers

    procs.install_cleanup()
    ok = True
    for db in [d for d in args.db.split(",") if d]:
        result = measure(db, args.workdir / db, seconds=args.seconds)
        print(describe(result), "PASS" if result.passed else "FAIL")
        ok = ok and result.passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
