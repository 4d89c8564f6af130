"""Maestro benchmark: one command, real servers, wrk load, server CPU per request.

    .venv/bin/python bench/run.py [--quick] [--db sqlite,postgres] [--server uvicorn|uvicorn-nodelay|granian]
                                  [--workers N] [--loop auto|asyncio|uvloop] [--compare-servers]
                                  [--token] [--unaudited] [--unrecorded]

Default run: MLflow (reference), the bare FastAPI+SQLite ceiling, then Maestro
on SQLite and on PostgreSQL, each scenario at concurrency 1 and 16; prints one
table and writes bench/results/<timestamp>.json. ``--compare-servers`` instead
serves one seeded database under each server/worker configuration in turn.
``--token`` measures production auth (an admin token on every request) instead
of local mode; ``--unaudited`` serves bench/unaudited_app.py (audit off) to
measure what audit costs; ``--unrecorded`` serves bench/unrecorded_app.py (audit on,
issue 10's verdict recorder off). bench/trust.py compares these with older trees.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:  # maestro may not be pip-installed yet; the seeder imports its tables
    sys.path.insert(1, str(ROOT))

import ceiling_target  # noqa: E402  (after the sys.path fix above)
import loadgen  # noqa: E402
import maestro_target  # noqa: E402
import mlflow_target  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402

CONCURRENCIES = [1, 16]
COMPARE_SPECS = [
    servers.ServerSpec("uvicorn", 1, "asyncio"),
    servers.ServerSpec("uvicorn", 2, "asyncio"),
    servers.ServerSpec("uvicorn-nodelay", 2, "asyncio"),
    servers.ServerSpec("uvicorn", 1, "auto"),
    servers.ServerSpec("uvicorn", 2, "auto"),
    servers.ServerSpec("granian", 1),
    servers.ServerSpec("granian", 2),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark Maestro against MLflow and a bare FastAPI ceiling.")
    p.add_argument("--quick", action="store_true", help="3 s per measurement instead of 8 (about 5 minutes)")
    p.add_argument("--db", default="sqlite,postgres", help="comma list of backends: sqlite,postgres")
    p.add_argument("--server", default="uvicorn", choices=servers.SERVER_KINDS)
    p.add_argument(
        "--workers", type=int, default=1, help="server worker processes for Maestro and the ceiling"
    )
    p.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="uvicorn event loop")
    p.add_argument("--seconds", type=int, help="override seconds per measurement")
    p.add_argument("--warmup", type=int, help="override warm-up seconds per scenario")
    p.add_argument("--only", default="", help="comma list of Maestro scenarios to run (default: all)")
    p.add_argument("--skip-mlflow", action="store_true")
    p.add_argument("--skip-ceiling", action="store_true")
    p.add_argument("--no-access-log", action="store_true", help="run Maestro with MAESTRO_ACCESS_LOG=false")
    p.add_argument(
        "--token",
        action="store_true",
        help="bootstrap an admin token before the server starts and send it on every request (no local mode)",
    )
    p.add_argument(
        "--unaudited",
        action="store_true",
        help="serve bench/unaudited_app.py (audit recording off; bench-only) as target maestro-unaudited",
    )
    p.add_argument(
        "--unrecorded",
        action="store_true",
        help="serve bench/unrecorded_app.py (verdict recorder off; bench-only) as maestro-unrecorded",
    )
    p.add_argument("--compare-servers", action="store_true", help="1 vs 2 workers under uvicorn and granian")
    p.add_argument(
        "--specs",
        default="",
        help="--compare-servers configurations, e.g. uvicorn:1:asyncio,uvicorn:2,granian:2 (default: all 7)",
    )
    p.add_argument("--workdir", type=Path, default=BENCH_DIR / ".work", help="scratch files (deleted first)")
    args = p.parse_args(argv)
    args.backends = [b for b in args.db.split(",") if b]
    unknown = set(args.backends) - set(maestro_target.BACKENDS)
    if unknown:
        p.error(f"unknown --db {sorted(unknown)}; choose from {maestro_target.BACKENDS}")
    try:
        args.spec_list = [parse_spec(s) for s in args.specs.split(",") if s] or COMPARE_SPECS
    except ValueError as exc:
        p.error(str(exc))
    return args


def parse_spec(text: str) -> servers.ServerSpec:
    """``kind:workers[:loop]`` -> ServerSpec, e.g. ``uvicorn-nodelay:2:asyncio``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] not in servers.SERVER_KINDS or not parts[1].isdigit():
        raise ValueError(f"bad spec {text!r}: want kind:workers[:loop], kind in {servers.SERVER_KINDS}")
    return servers.ServerSpec(parts[0], int(parts[1]), parts[2] if len(parts) == 3 else "auto")


def make_plan(args: argparse.Namespace) -> maestro_target.Plan:
    return maestro_target.Plan(
        concurrencies=CONCURRENCIES,
        seconds=args.seconds or (3 if args.quick else 8),
        warmup_s=args.warmup if args.warmup is not None else (1 if args.quick else 2),
        access_log=not args.no_access_log,
        only={s for s in args.only.split(",") if s},
        token=args.token,
        unaudited=args.unaudited,
        unrecorded=args.unrecorded,
    )


def run_default(args: argparse.Namespace, plan: maestro_target.Plan) -> list[loadgen.Measurement]:
    """MLflow and the ceiling first (cheap, independent), then Maestro per backend."""
    spec = servers.ServerSpec(args.server, args.workers, args.loop)
    results: list[loadgen.Measurement] = []
    if not args.skip_mlflow:
        results += mlflow_target.run(args.workdir / "mlflow", CONCURRENCIES, plan.seconds, plan.warmup_s)
    if not args.skip_ceiling:
        results += ceiling_target.run(
            spec, args.workdir / "ceiling", CONCURRENCIES, plan.seconds, plan.warmup_s
        )
    for backend in args.backends:
        results += maestro_target.run_backend(backend, spec, plan, args.workdir / backend)
    return results


def run_compare(args: argparse.Namespace, plan: maestro_target.Plan) -> list[loadgen.Measurement]:
    """Every server configuration on the same data: the 1-vs-2-workers experiment."""
    results: list[loadgen.Measurement] = []
    if not args.skip_ceiling:
        for spec in args.spec_list:
            results += ceiling_target.run(
                spec, args.workdir / "ceiling", CONCURRENCIES, plan.seconds, plan.warmup_s
            )
    for backend in args.backends:
        results += maestro_target.compare_servers(backend, args.spec_list, plan, args.workdir / backend)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    procs.install_cleanup()
    loadgen.ensure_wrk()
    plan = make_plan(args)
    shutil.rmtree(args.workdir, ignore_errors=True)
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = run_compare(args, plan) if args.compare_servers else run_default(args, plan)
    mode = (
        "server comparison"
        if args.compare_servers
        else f"server {servers.ServerSpec(args.server, args.workers, args.loop).label}"
    )
    mode += f"; {plan.describe}"
    title = (
        f"\nMaestro benchmark ({mode}; {plan.seconds}s per measurement, wrk -t1)\n"
        "cpu ms = server CPU per request (all server processes); db cpu = PostgreSQL backends' CPU "
        "per request (max over concurrencies); other = cores used meanwhile by unrelated processes (max)"
    )
    print(report.render(results, CONCURRENCIES, title, summary=not args.compare_servers))
    out = BENCH_DIR / "results" / f"{stamp}{'-servers' if args.compare_servers else ''}.json"
    meta = {
        "started_utc": stamp,
        "elapsed_s": round(time.monotonic() - started, 1),
        "argv": sys.argv[1:],
        "mode": mode,
        "target": plan.target,
        "auth": "token" if plan.token else "local",
        "audit": "off" if plan.unaudited else "on",
        "seconds": plan.seconds,
        "warmup_s": plan.warmup_s,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    report.write_json(out, results, meta, summary=not args.compare_servers)
    print(f"\nresults written to {out.relative_to(ROOT)}; elapsed {meta['elapsed_s']}s")
    shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)
