"""Drive one scenario with wrk and pair its latency figures with the server's CPU time.

wrk (C, one thread, LuaJIT for request bodies) generates load; a Python client
would burn the same two cores the server needs and cap the figures. CPU time
is read from /proc for the server's whole session right before and after the
wrk run, so it covers every worker and nothing of the load generator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import procs

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "scenario.lua"
TOKEN_ENV = "MAESTRO_BENCH_TOKEN"  # read by wrk/scenario.lua; the environment keeps it out of `ps`
_MARKER = "BENCH_RESULT "
NOISY_CORES = (
    0.2  # other processes using this much CPU during a measurement make its wall-clock figures suspect
)


@dataclass(frozen=True)
class Request:
    """What every request of a scenario looks like (see wrk/scenario.lua for placeholders)."""

    method: str
    path: str
    body: str | None = None
    ids_file: Path | None = None
    expected_status: int = 200
    token: str | None = None  # sent as ``Authorization: Bearer`` on every request


@dataclass
class Measurement:
    """One scenario at one concurrency: the figures that end up in the table and JSON."""

    target: str
    db: str
    scenario: str
    concurrency: int
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    cpu_ms_per_req: float
    db_cpu_ms_per_req: float | None
    loadgen_cpu_ms_per_req: float
    other_cores: float  # CPU used meanwhile by processes outside the test (noise), in cores
    errors: int
    first_unexpected_status: int
    config: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def ensure_wrk() -> str:
    """Path to wrk, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def _wrk_argv(base_url: str, req: Request, concurrency: int, seconds: int, tag: str) -> list[str]:
    return [
        ensure_wrk(),
        "-t1",  # one generator thread is enough for a few thousand req/s and leaves a core to the server
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "15s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
        "--",
        req.method,
        req.path,
        req.body if req.body is not None else "-",
        str(req.ids_file) if req.ids_file else "-",
        str(req.expected_status),
        tag,
    ]


def run_wrk(base_url: str, req: Request, concurrency: int, seconds: int, tag: str) -> dict[str, float]:
    """Run wrk once and return the numbers printed by the Lua ``done()`` hook."""
    argv = _wrk_argv(base_url, req, concurrency, seconds, tag)
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    if req.token:
        env[TOKEN_ENV] = req.token
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(_MARKER):
            parsed: dict[str, float] = json.loads(line[len(_MARKER) :])
            return parsed
    raise RuntimeError(f"wrk gave no result (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@dataclass(frozen=True)
class CpuProbe:
    """Where to read CPU from: the app server's session, plus optionally the DB's processes."""

    server_cpu: Callable[[], float]
    db_cpu: Callable[[], float] | None = None


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU counters read together; the difference of two is one measurement's cost."""

    server: float
    db: float
    machine: float
    loadgen: float

    @classmethod
    def take(cls, probe: CpuProbe) -> CpuSnapshot:
        return cls(
            server=probe.server_cpu(),
            db=probe.db_cpu() if probe.db_cpu else 0.0,
            machine=procs.machine_busy_seconds(),
            loadgen=procs.children_cpu_seconds(),
        )

    def __sub__(self, other: CpuSnapshot) -> CpuSnapshot:
        return CpuSnapshot(
            self.server - other.server,
            self.db - other.db,
            self.machine - other.machine,
            self.loadgen - other.loadgen,
        )


@dataclass(frozen=True)
class Labels:
    target: str
    db: str
    scenario: str
    config: dict[str, str] = field(default_factory=dict)


def measure(
    base_url: str,
    req: Request,
    *,
    labels: Labels,
    probe: CpuProbe,
    concurrencies: Sequence[int],
    seconds: int,
    warmup_s: int,
) -> list[Measurement]:
    """Warm the path up once, then measure each concurrency with CPU deltas around wrk."""
    if warmup_s > 0:
        run_wrk(base_url, req, max(concurrencies), warmup_s, f"w{labels.scenario}")
    results = []
    for conc in concurrencies:
        before = CpuSnapshot.take(probe)
        raw = run_wrk(base_url, req, conc, seconds, f"{labels.scenario}{conc}")
        used = CpuSnapshot.take(probe) - before
        results.append(_to_measurement(raw, labels, conc, used, has_db=probe.db_cpu is not None))
        print("  " + describe(results[-1]), flush=True)
    return results


def _to_measurement(
    raw: dict[str, float], labels: Labels, conc: int, used: CpuSnapshot, *, has_db: bool
) -> Measurement:
    requests = int(raw["requests"])
    duration_s = raw["duration_us"] / 1e6
    per = max(requests, 1)
    foreign = used.machine - used.server - used.db - used.loadgen
    return Measurement(
        target=labels.target,
        db=labels.db,
        scenario=labels.scenario,
        concurrency=conc,
        requests=requests,
        duration_s=round(duration_s, 3),
        rps=round(requests / duration_s, 1) if duration_s else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=round(raw["mean_us"] / 1000, 3),
        max_ms=raw["max_us"] / 1000,
        cpu_ms_per_req=round(used.server * 1000 / per, 3),
        db_cpu_ms_per_req=round(used.db * 1000 / per, 3) if has_db else None,
        loadgen_cpu_ms_per_req=round(used.loadgen * 1000 / per, 3),
        other_cores=round(max(foreign, 0.0) / duration_s, 2) if duration_s else 0.0,
        # A stalled server answers nothing and wrk counts no error: report that as one.
        errors=int(raw["unexpected_status"] + raw["socket_errors"] + raw["timeouts"]) or int(requests == 0),
        first_unexpected_status=int(raw["first_unexpected_status"]),
        config=dict(labels.config),
    )


def describe(m: Measurement) -> str:
    """One progress line, so a long run shows what it is doing."""
    db_cpu = f" db {m.db_cpu_ms_per_req:.2f}ms" if m.db_cpu_ms_per_req is not None else ""
    db_cpu += f" [other load {m.other_cores:.2f} cores]" if m.other_cores >= NOISY_CORES else ""
    err = f" ERRORS {m.errors} (first status {m.first_unexpected_status})" if m.errors else ""
    if m.requests == 0:
        err += " NO RESPONSES (server stalled; see its log)"
    return (
        f"{m.target:<8} {m.db:<6} {m.scenario:<18} c{m.concurrency:<3} {m.rps:8.1f} req/s "
        f"p50 {m.p50_ms:7.2f}ms p99 {m.p99_ms:7.2f}ms cpu {m.cpu_ms_per_req:.2f}ms/req{db_cpu}{err}"
    )
