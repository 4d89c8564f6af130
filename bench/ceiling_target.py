"""Serve bench/ceiling_app.py exactly like Maestro and measure its one insert endpoint.

Its scenario is named ``create_run`` because it is the floor under Maestro's
create run: same server, same workers, same SQLite pragmas, nothing else.
"""

from __future__ import annotations

from pathlib import Path

import loadgen
import procs
import servers

BODY = '{"name": "bench-{n}", "owner": "bench-writer", "cost_estimate": 1.5}'


def run(
    spec: servers.ServerSpec, workdir: Path, concurrencies: list[int], seconds: int, warmup_s: int
) -> list[loadgen.Measurement]:
    """Start the ceiling app on a fresh SQLite file, measure inserts, stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "ceiling.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    port = procs.free_port()
    argv = servers.server_argv(spec, "ceiling_app:app", port)
    env = {"CEILING_DB": str(db_path), "PYTHONPATH": str(servers.BENCH_DIR)}
    print("ceiling: starting server", flush=True)
    with procs.running(
        "ceiling",
        argv,
        port=port,
        log_path=workdir / "ceiling.log",
        env=env,
        cwd=servers.BENCH_DIR,
        ready_path="/health",
    ) as server:
        labels = loadgen.Labels("ceiling", "sqlite", "create_run", {"server": spec.label})
        request = loadgen.Request("POST", "/rows", BODY, expected_status=201)
        return loadgen.measure(
            server.base_url,
            request,
            labels=labels,
            probe=loadgen.CpuProbe(server.cpu_seconds),
            concurrencies=concurrencies,
            seconds=seconds,
            warmup_s=warmup_s,
        )
