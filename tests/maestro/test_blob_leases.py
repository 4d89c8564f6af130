"""Blob leases under concurrency: identical bytes uploaded to several artifacts at once
all record one blob row, and a lease only ever grows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from maestro.db.engine import Database
from maestro.storage.evidence import blobs_t, lease_blob

DIGEST = "sha256:" + "ab" * 32


def test_parallel_leases_of_one_digest_never_collide(maestro_store: Database) -> None:
    now = datetime.now(UTC)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def lease(n: int) -> None:
        barrier.wait()
        try:
            with maestro_store.write() as session:
                lease_blob(session, DIGEST, 10, now, now + timedelta(minutes=10, seconds=n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lease, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with maestro_store.read() as session:
        rows = session.execute(select(blobs_t).where(blobs_t.c.digest == DIGEST)).all()
    assert len(rows) == 1
    assert rows[0].lease_until == now + timedelta(minutes=10, seconds=7)


def test_a_lease_is_extended_never_shortened(maestro_store: Database) -> None:
    now = datetime.now(UTC)
    for until in (now + timedelta(hours=1), now + timedelta(minutes=1)):
        with maestro_store.write() as session:
            lease_blob(session, DIGEST, 10, now, until)
    with maestro_store.read() as session:
        lease = session.execute(select(blobs_t.c.lease_until)).scalar_one()
    assert lease == now + timedelta(hours=1)
