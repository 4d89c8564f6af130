"""The audit log against a real ``maestro server`` on both databases: killed with SIGKILL
under write load it loses no acknowledged write and keeps no event without its object
(nor an object without its event); concurrent HTTP writers in two tenants, with one or
two worker processes, never fork a tree.

What "acknowledged" means is the unit of work's promise (``maestro.api.unit_of_work``):
a write's response is sent only after its transaction, audit events included, has
committed. A write whose response never arrived may have committed or not, but never
half. The checks are in ``live_load``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from maestro.db import migrate
from maestro.db.engine import Database
from maestro.tenancy.roles import Role
from tests.maestro.audit.live_load import (
    Attempt,
    Auditor,
    SignedHead,
    Tenant,
    Writer,
    check_log,
    export_and_verify,
    public_key,
    send,
    writes_of,
)
from tests.maestro.live_server import LiveServer, live_server
from tests.maestro.tenancy.helpers import bearer, issue

ROUNDS = 3  # kill -9, restart, check: each round costs a server start (1-3 s here)
ACKS_PER_ROUND = 40  # writes acknowledged before the kill, so it lands mid-load
ROUND_SECONDS = 8.0  # at most, on a slow machine


@dataclass
class Deployment:
    """A migrated database with a writer's, an admin's and a viewer's token in two tenants,
    and one data directory (so the signing key survives restarts)."""

    url: str
    directory: Path
    tenants: list[Tenant]

    @contextmanager
    def serve(self, workers: int = 1) -> Iterator[LiveServer]:
        env = {"MAESTRO_DATABASE_URL": self.url, "MAESTRO_ACCESS_LOG": "false"}
        with live_server(self.directory, env, args=["--workers", str(workers)]) as server:
            yield server


@pytest.fixture
def deployment(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'maestro.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create("maestro_audit_live")
    db = Database(url)
    try:
        migrate.upgrade(db.engine)
        tenants = [
            Tenant(name, *(issue(db, role, name).token for role in (Role.WRITER, Role.ADMIN, Role.VIEWER)))
            for name in ("default", "beta")
        ]
    finally:
        db.dispose()
    return Deployment(url, tmp_path, tenants)


def _kill(server: LiveServer) -> None:
    """SIGKILL the server's whole process group (the supervisor and its workers)."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def _start(writers: list[Writer]) -> list[Writer]:
    for writer in writers:
        writer.start()
    return writers


Attempts = dict[str, list[Attempt]]  # by tenant


def _finish(writers: list[Writer], into: Attempts) -> None:
    """Wait for ``writers`` and add what they attempted to ``into``."""
    for writer in writers:
        writer.join(timeout=60)
        assert not writer.is_alive(), f"{writer.name} hangs"
        assert writer.error is None, f"{writer.name}: {writer.error!r}"
        into.setdefault(writer.tenant.id, []).extend(writer.attempts)


def _load_then_kill(
    server: LiveServer, deployment: Deployment, label: str, into: Attempts
) -> dict[str, SignedHead]:
    """Writers in both tenants until enough writes are acknowledged, then SIGKILL while
    they are still sending; returns the checkpoints fetched last before the kill."""
    key, _ = public_key(server.base_url, deployment.tenants[0])
    auditors = [Auditor(server.base_url, tenant, key) for tenant in deployment.tenants]
    stop = threading.Event()
    default, beta = deployment.tenants
    tenants = [default] * 4 + [beta] * 2
    names = [f"{label}-{tenant.id}-w{n}" for n, tenant in enumerate(tenants)]
    writers = [Writer(server.base_url, t, name, stop) for t, name in zip(tenants, names, strict=True)]
    writers = _start([*writers, Writer(server.base_url, default, f"{label}-viewer", stop, denied=True)])
    deadline = time.monotonic() + ROUND_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.1)
        heads = {a.tenant.id: a.checkpoint() for a in auditors}
        if sum(a.acknowledged for w in writers for a in w.attempts) >= ACKS_PER_ROUND:
            break
    _kill(server)
    stop.set()
    _finish(writers, into)
    for auditor in auditors:
        auditor.close()
    return heads


def _retry_unanswered(auditor: Auditor, attempts: list[Attempt], logged: set[str]) -> None:
    """What a client does after the crash: send each unanswered create again with its
    Idempotency-Key. Each is a 201, replayed exactly when the first one had committed."""
    retried = [a for a in attempts if a.status is None and a.action in ("run.create", "artifact.create")]
    with httpx.Client(base_url=auditor.base_url, headers=bearer(auditor.tenant.writer)) as http:
        for attempt in retried:
            response = send(http, attempt)
            assert attempt.status == 201, (attempt, response.text)
            replayed = response.headers.get("idempotent-replayed") == "true"
            assert replayed == (attempt.request_id in logged), attempt


def test_kill_9_under_write_load_loses_no_acknowledged_write(deployment: Deployment, tmp_path: Path) -> None:
    attempts: Attempts = {}
    before_kills: list[dict[str, SignedHead]] = []
    for round_ in range(ROUNDS):
        with deployment.serve() as server:
            before_kills.append(_load_then_kill(server, deployment, f"r{round_}", attempts))
    unanswered = [a for tenant in attempts.values() for a in tenant if a.status is None]
    assert unanswered, "no write was in flight at any kill: the test did not test a crash"
    with deployment.serve() as server:
        key, pem = public_key(server.base_url, deployment.tenants[0])
        auditors = [Auditor(server.base_url, tenant, key) for tenant in deployment.tenants]
        for auditor in auditors:
            crashed = check_log(auditor, attempts[auditor.tenant.id])  # what the kills left
            _retry_unanswered(
                auditor, attempts[auditor.tenant.id], {e["event"]["request_id"] for e in crashed}
            )
        stop = threading.Event()
        after = [Writer(server.base_url, t, f"after-{t.id}", stop, limit=6) for t in deployment.tenants]
        _finish(_start(after), attempts)
        for auditor in auditors:  # the log goes on from every checkpoint signed before a kill
            events = check_log(auditor, attempts[auditor.tenant.id])
            final = auditor.checkpoint()
            assert final.size == len(events)
            for heads in before_kills:
                auditor.assert_prefix(heads[auditor.tenant.id], final)
            first = before_kills[0][auditor.tenant.id]
            export = export_and_verify(auditor, pem, tmp_path / f"export-{auditor.tenant.id}", first)
            assert len(export["events"]) == final.size
            auditor.close()


PARALLEL = 16  # writers in tenant default; a quarter as many in tenant beta
WRITES_EACH = 8


def _worker_processes(server: LiveServer) -> int:
    """uvicorn's worker processes under the server (spawned; its resource tracker is not one)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes() for child in children)


def _shared_runs(server: LiveServer, tenants: list[Tenant], into: Attempts) -> dict[str, list[str]]:
    """One run per tenant that every writer of the tenant patches and adds artifacts to:
    row locks on it and the tenant's log head are taken by many requests at once."""
    seeds = _start(
        [Writer(server.base_url, t, f"p-{t.id}-shared", threading.Event(), limit=1) for t in tenants]
    )
    _finish(seeds, into)
    return {seed.tenant.id: seed.runs for seed in seeds}


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_http_writers_never_fork_a_tree(
    deployment: Deployment, tmp_path: Path, workers: int
) -> None:
    """Every checkpoint fetched during the load is a prefix of the final one, which has
    exactly one event per acknowledged write (and per denial), at dense indexes, and
    verifies offline."""
    default, beta = deployment.tenants
    plan = [default] * PARALLEL + [beta] * (PARALLEL // 4)
    denied = 2  # writers with a viewer's token: their 403s are events too
    with deployment.serve(workers) as server:
        if workers > 1:
            assert _worker_processes(server) == workers
        key, pem = public_key(server.base_url, default)
        auditors = [Auditor(server.base_url, tenant, key) for tenant in deployment.tenants]
        stop = threading.Event()
        attempts: Attempts = {}
        shared = _shared_runs(server, deployment.tenants, attempts)
        names = [f"p-{tenant.id}-w{n}" for n, tenant in enumerate(plan)]
        writers = [
            Writer(server.base_url, t, name, stop, limit=WRITES_EACH, shared=shared[t.id])
            for t, name in zip(plan, names, strict=True)
        ]
        writers += [
            Writer(server.base_url, default, f"p-viewer{n}", stop, limit=WRITES_EACH, denied=True)
            for n in range(denied)
        ]
        seen: dict[str, list[SignedHead]] = {tenant.id: [] for tenant in deployment.tenants}
        _start(writers)
        while any(writer.is_alive() for writer in writers):
            for auditor in auditors:
                seen[auditor.tenant.id].append(auditor.checkpoint())
        _finish(writers, attempts)
        for auditor in auditors:
            _check_after_load(auditor, attempts[auditor.tenant.id], seen[auditor.tenant.id], pem, tmp_path)
            auditor.close()


def _check_after_load(
    auditor: Auditor, attempts: list[Attempt], heads: list[SignedHead], pem: str, tmp_path: Path
) -> None:
    """Each write answered as it must be and logged once; the tree holds just those
    events; every head seen during the load is a prefix of the final one."""
    unacknowledged = [(a.request_id, a.status, a.body) for a in attempts if not a.acknowledged]
    assert unacknowledged == [], "a write under load was not acknowledged"
    events = check_log(auditor, attempts)
    final = auditor.checkpoint()
    assert final.size == len(events)
    assert len(writes_of(events)) == len(attempts)
    assert [h.size for h in heads] == sorted(h.size for h in heads), "a checkpoint went back"
    for head in heads:
        auditor.assert_prefix(head, final)
    export = export_and_verify(auditor, pem, tmp_path / auditor.tenant.id, heads[len(heads) // 2])
    assert [item["index"] for item in export["events"]] == list(range(final.size))
