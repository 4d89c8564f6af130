"""Cost of one audit append inside a write transaction, on SQLite and PostgreSQL.

    .venv/bin/python bench/audit_append.py [POSTGRES_URL]

Prints µs per ``recorder.append`` call (one event, the call alone, the
transaction's own begin/commit excluded) after pre-filling the tree, and µs
per event for RFC 8785 canonicalisation plus the leaf hash.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

from sqlalchemy import text

from maestro.audit import recorder
from maestro.audit.event import Actor, AuditEvent, EventDraft, ObjectRef, from_draft
from maestro.db import migrate
from maestro.db.engine import Database

DRAFT = EventDraft(
    "run.create", Actor("tok_0193abcd", "writer"), ObjectRef("run", "0193abcd-1234-7000-8000-123456789abc"),
    "0193abcd12345678", "ab" * 32,
)  # fmt: skip


def canonical_us(n: int = 20_000) -> float:
    def one() -> bytes:
        event: AuditEvent = from_draft(DRAFT, "default", 12345, time_now)
        return event.leaf_hash()

    from datetime import UTC, datetime

    time_now = datetime.now(UTC)
    return timeit.timeit(one, number=n) / n * 1e6


def append_us(db: Database, prefill: int = 5_000, samples: int = 1_000) -> tuple[float, float]:
    with db.write() as session:
        recorder.append(session, tenant_id="bench", events=[DRAFT] * prefill)
    took = []
    for _ in range(samples):
        with db.write() as session:
            session.execute(text("SELECT 1"))  # BEGIN and the connection: the request's cost, not audit's
            start = time.perf_counter()
            recorder.append(session, tenant_id="bench", events=[DRAFT])
            took.append(time.perf_counter() - start)
    took.sort()
    return statistics.median(took) * 1e6, took[int(len(took) * 0.99)] * 1e6


def main() -> None:
    print(f"canonical + leaf hash: {canonical_us():.1f} µs/event")
    urls = [f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", *sys.argv[1:]]
    for url in urls:
        db = Database(url)
        migrate.upgrade(db.engine)
        median, p99 = append_us(db)
        print(f"{db.dialect}: append one event: median {median:.0f} µs, p99 {p99:.0f} µs")
        db.dispose()


if __name__ == "__main__":
    main()
