"""Maestro under load: fresh database, seeded data, the real server, every scenario.

Order matters and is fixed: read scenarios run first on the seeded data (10k
artifacts), then the write scenarios, then the artifacts table is grown to 1M
rows and the release gate is measured again on the same gate runs. The
server keeps running across the growth so only the data changes between the
two gate figures.

Two variants change what is served, never the data or the requests: ``token``
bootstraps an admin token before the server starts and sends it on every
request (production auth, a token lookup per request, instead of local mode);
``unaudited`` serves ``bench/unaudited_app.py`` (audit recording switched off),
only to measure what audit costs; ``unrecorded`` serves ``bench/unrecorded_app.py``
(audit on, issue 10's verdict recorder off), to tell the two apart. Their rows carry
their own target name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString

import httpjson
import loadgen
import procs
import seed
import servers

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = os.environ.get("MAESTRO_BENCH_PG_DATABASE", "maestro_bench")
BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Plan:
    """Sizes and timings shared by every scenario of one benchmark run."""

    concurrencies: list[int]
    seconds: int
    warmup_s: int
    runs: int = 100_000
    small_artifacts: int = 10_000
    large_artifacts: int = 1_000_000
    owner_deep_page: int = 8  # of 10 ten-row pages: the deepest full page of a ~100-run owner
    status_deep_page: int = 200  # ~2000 rows into ?status=failed (~20k matches)
    access_log: bool = True
    skip_large: bool = False
    only: set[str] = field(default_factory=set)
    token: bool = False  # bootstrap an admin token and send it on every request
    unaudited: bool = False  # serve bench/unaudited_app.py: audit recording is a no-op
    unrecorded: bool = False  # serve bench/unrecorded_app.py: no verdict recorder

    @property
    def target(self) -> str:
        """The name rows of this variant carry: ``maestro``, ``maestro-unaudited``, ``maestro-token``..."""
        parts = [
            "maestro",
            *(["unaudited"] if self.unaudited else []),
            *(["unrecorded"] if self.unrecorded else []),
            *(["token"] if self.token else []),
        ]
        return "-".join(parts)

    @property
    def describe(self) -> str:
        auth, audit = ("token" if self.token else "local"), ("off" if self.unaudited else "on")
        recorder = "off" if self.unaudited or self.unrecorded else "on"
        return f"{self.target}: auth {auth}, audit {audit}, verdict recorder {recorder}"

    @property
    def app_ref(self) -> str:
        if self.unaudited:
            return "unaudited_app:app"
        return "unrecorded_app:app" if self.unrecorded else "maestro.app:app"


# ---------------------------------------------------------------- databases


def _pg_admin(statement: LiteralString) -> None:
    """Run one CREATE/DROP DATABASE (they refuse to run inside a transaction)."""
    import psycopg  # imported lazily: SQLite-only runs need no PostgreSQL server
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(db=sql.Identifier(PG_DATABASE)))


@contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    """A brand-new empty database URL; PostgreSQL's scratch database is dropped afterwards."""
    if backend == "sqlite":
        path = workdir / "maestro.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}"
        return
    _pg_admin("DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    _pg_admin("CREATE DATABASE {db}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DATABASE}"
    finally:
        _pg_admin("DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def migrate(url: str) -> None:
    """``maestro db upgrade``; in-process through ``maestro.db.migrate`` if the command is broken.

    The fallback keeps a benchmark of the server usable while the CLI is being
    reworked; the warning says so, so a broken command does not go unnoticed.
    """
    exe = servers.VENV_BIN / "maestro"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-c", "from maestro.cli import main; main()"]
    env = {**os.environ, "MAESTRO_DATABASE_URL": url, "PYTHONPATH": str(servers.ROOT)}
    done = subprocess.run([*argv, "db", "upgrade"], env=env, cwd=servers.ROOT, check=False)
    if done.returncode == 0:
        return
    print("warning: `maestro db upgrade` failed; migrating in-process instead", flush=True)
    from maestro.db.engine import make_engine
    from maestro.db.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def bootstrap_token(url: str) -> str:
    """``maestro tokens bootstrap -q``: the first admin token (tenant ``default``, which owns
    the seeded rows), written straight into the database. From then on every request needs
    a token: the server runs in production auth, not local mode."""
    exe = servers.VENV_BIN / "maestro"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-c", "from maestro.cli import main; main()"]
    env = {**os.environ, "MAESTRO_DATABASE_URL": url, "PYTHONPATH": str(servers.ROOT)}
    done = subprocess.run(
        [*argv, "tokens", "bootstrap", "-q"], env=env, cwd=servers.ROOT, capture_output=True, text=True
    )
    token = done.stdout.strip()
    if done.returncode != 0 or not token or len(token.split()) != 1:
        why = done.stderr.strip()
        raise RuntimeError(f"`maestro tokens bootstrap -q` failed (rc={done.returncode}): {why}")
    return token


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


# ---------------------------------------------------------------- scenario inputs


def _write_ids(path: Path, ids: list[str]) -> Path:
    path.write_text("\n".join(ids) + "\n")
    return path


def _path_only(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _deep_page_path(base: str, first_path: str, page: int, token: str | None) -> str:
    """Follow ``Link: rel="next"`` from page 1 to ``page``; the path wrk will then request."""
    path = first_path
    for _ in range(page - 1):
        reply = httpjson.call("GET", base + path, headers=auth_headers(token))
        httpjson.expect(reply, 200, f"GET {path}")
        nxt = httpjson.next_link(reply)
        if nxt is None:
            raise RuntimeError(f"{first_path} has fewer than {page} pages")
        path = _path_only(nxt)
    return path


# The same gate runs judged under the built-in verified-evidence policy (their artifacts
# carry verified evidence views, so it reads and passes them), beside seed-default.
VERIFIED_GATE = "/maestro/runs/{id}/release-gate?policy=builtin:verified-evidence"
LARGE = ("gate_1m", "gate_1m_verified")


def _check_gate(base: str, run_id: str, token: str | None) -> None:
    for path in ("/maestro/runs/{id}/release-gate", VERIFIED_GATE):
        reply = httpjson.call("GET", base + path.replace("{id}", run_id), headers=auth_headers(token))
        body = httpjson.expect(reply, 200, "release gate")
        if not body.get("passed"):
            raise RuntimeError(f"seeded gate run should pass the release gate ({path}): {body!r}")


def build_requests(
    base: str, data: seed.Dataset, plan: Plan, workdir: Path, token: str | None = None
) -> dict[str, loadgen.Request]:
    """Every scenario's request template, with the id lists and deep-page cursors it cycles
    through; with ``token``, every request (setup and load) carries it."""
    step = max(len(data.filler_run_ids) // 1000, 1)
    readable = data.run_ids[:: max(len(data.run_ids) // 1000, 1)]
    patchable = data.filler_run_ids[::step][:1000]
    attachable = data.filler_run_ids[1::step][:1000]
    owners = [f"/maestro/runs?owner={seed.owner_name(i)}&limit=10" for i in range(0, seed.OWNERS, 5)]
    deep_owners = [_deep_page_path(base, p, plan.owner_deep_page, token) for p in owners[:40]]
    status_first = "/maestro/runs?status=failed&limit=10"
    status_deep = _deep_page_path(base, status_first, plan.status_deep_page, token)
    _check_gate(base, data.gate_run_ids[0], token)
    id_lists = {
        "read": readable,
        "patch": patchable,
        "attach": attachable,
        "gate": data.gate_run_ids[:1000],
        "owner_p1": owners,
        "owner_deep": deep_owners,
    }
    ids = {name: _write_ids(workdir / f"{name}.txt", values) for name, values in id_lists.items()}
    artifact_body = (
        '{"run_id": "{id}", "kind": "build_log", "path_or_uri": "s3://maestro-bench/{n}.log", '
        '"metadata_json": {"sbom_present": false, "slsa_provenance_present": false, '
        '"risk_assessment_present": false}}'
    )
    create_body = (
        '{"name": "bench-{n}", "owner": "bench-writer", "cost_estimate": 1.5, '
        '"metadata": {"git_sha": "0123456789", "pipeline": "bench"}}'
    )

    def req(method: str, path: str, body: str | None = None, **kw: Any) -> loadgen.Request:
        return loadgen.Request(method, path, body, token=token, **kw)

    return {
        "get_run": req("GET", "/maestro/runs/{id}", ids_file=ids["read"]),
        "list_owner_p1": req("GET", "{id}", ids_file=ids["owner_p1"]),
        "list_owner_deep": req("GET", "{id}", ids_file=ids["owner_deep"]),
        "list_status_p1": req("GET", status_first),
        "list_status_deep": req("GET", status_deep),
        "gate_10k": req("GET", "/maestro/runs/{id}/release-gate", ids_file=ids["gate"]),
        "gate_10k_verified": req("GET", VERIFIED_GATE, ids_file=ids["gate"]),
        "create_run": req("POST", "/maestro/runs", create_body, expected_status=201),
        "patch_run": req(
            "PATCH", "/maestro/runs/{id}", '{"metadata": {"note": "{n}"}}', ids_file=ids["patch"]
        ),
        "create_artifact": req(
            "POST", "/maestro/artifacts", artifact_body, ids_file=ids["attach"], expected_status=201
        ),
        "gate_1m": req("GET", "/maestro/runs/{id}/release-gate", ids_file=ids["gate"]),
        "gate_1m_verified": req("GET", VERIFIED_GATE, ids_file=ids["gate"]),
    }


# ---------------------------------------------------------------- the run


def _server_env(url: str, plan: Plan) -> dict[str, str]:
    path = [str(servers.ROOT), *([str(servers.BENCH_DIR)] if plan.unaudited or plan.unrecorded else [])]
    return {
        "MAESTRO_DATABASE_URL": url,
        # Logging as shipped (INFO, one JSON access line per request) unless --no-access-log.
        "MAESTRO_ACCESS_LOG": "true" if plan.access_log else "false",
        "PYTHONPATH": os.pathsep.join(path),
    }


def _probe(server: procs.Server, backend: str) -> loadgen.CpuProbe:
    if backend == "postgres":
        return loadgen.CpuProbe(server.cpu_seconds, lambda: procs.comm_cpu_seconds("postgres"))
    return loadgen.CpuProbe(server.cpu_seconds)


def _wanted(name: str, plan: Plan) -> bool:
    return not plan.only or name in plan.only


@contextmanager
def serving(
    spec: servers.ServerSpec, url: str, plan: Plan, workdir: Path, backend: str
) -> Iterator[procs.Server]:
    """The real Maestro server (``maestro.app:app``, or the plan's bench-only app) on a free loopback port."""
    port = procs.free_port()
    with procs.running(
        f"{plan.target}-{backend}-{spec.label}",
        servers.server_argv(spec, plan.app_ref, port),
        port=port,
        log_path=workdir / "server.log",
        env=_server_env(url, plan),
        cwd=servers.ROOT,
        ready_path="/healthz",
    ) as server:
        yield server


def measure_named(
    server: procs.Server,
    backend: str,
    spec: servers.ServerSpec,
    requests: dict[str, loadgen.Request],
    names: list[str],
    plan: Plan,
) -> list[loadgen.Measurement]:
    """Measure the listed scenarios (those ``--only`` allows) at every concurrency."""
    config = {
        "server": spec.label,
        "access_log": str(plan.access_log).lower(),
        "auth": "token" if plan.token else "local",
        "audit": "off" if plan.unaudited else "on",
    }
    results: list[loadgen.Measurement] = []
    for name in names:
        if _wanted(name, plan):
            results += loadgen.measure(
                server.base_url,
                requests[name],
                labels=loadgen.Labels(plan.target, backend, name, config),
                probe=_probe(server, backend),
                concurrencies=plan.concurrencies,
                seconds=plan.seconds,
                warmup_s=plan.warmup_s,
            )
    return results


def prepare(backend: str, url: str, plan: Plan) -> tuple[seed.Dataset, str | None]:
    """Migrate and seed; then, for a token plan, bootstrap the admin token (before any server
    starts, so the server never sees local mode)."""
    print(f"{plan.target}/{backend}: migrating and seeding", flush=True)
    migrate(url)
    data = seed.seed_initial(url, plan.runs, plan.small_artifacts)
    return data, bootstrap_token(url) if plan.token else None


def run_backend(
    backend: str, spec: servers.ServerSpec, plan: Plan, workdir: Path
) -> list[loadgen.Measurement]:
    """Everything for one database backend; the database is fresh and removed afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[loadgen.Measurement] = []
    with fresh_database(backend, workdir) as url:
        data, token = prepare(backend, url, plan)
        with serving(spec, url, plan, workdir, backend) as server:
            requests = build_requests(server.base_url, data, plan, workdir, token)
            first = [name for name in requests if name not in LARGE]
            results += measure_named(server, backend, spec, requests, first, plan)
            if not plan.skip_large and any(_wanted(name, plan) for name in LARGE):
                print(f"{plan.target}/{backend}: growing artifacts to {plan.large_artifacts}", flush=True)
                seed.grow_artifacts(url, data, plan.large_artifacts)
                results += measure_named(server, backend, spec, requests, list(LARGE), plan)
    return results


COMPARE_SCENARIOS = ["get_run", "list_owner_p1", "create_run"]


def compare_servers(
    backend: str, specs: list[servers.ServerSpec], plan: Plan, workdir: Path
) -> list[loadgen.Measurement]:
    """The same seeded database served by each configuration in turn (reads and one write)."""
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[loadgen.Measurement] = []
    with fresh_database(backend, workdir) as url:
        data, token = prepare(backend, url, plan)
        for spec in specs:
            print(f"{plan.target}/{backend}: {spec.label}", flush=True)
            with serving(spec, url, plan, workdir, backend) as server:
                requests = build_requests(server.base_url, data, plan, workdir, token)
                results += measure_named(server, backend, spec, requests, COMPARE_SCENARIOS, plan)
    return results
