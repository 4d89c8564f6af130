"""What trust costs, measured in pairs: every build served at once, short bursts in turn.

    .venv/bin/python bench/paired.py [--reps 5] [--seconds 3] [--db sqlite,postgres]
                                     [--only-variants base,unaudited,audited,shipped]
                                     [--cells get_run:1,create_run:16,...]
    .venv/bin/python bench/paired.py --report bench/results/paired-A.json paired-B.json

``bench/trust.py`` runs one build after another, two minutes each. On a shared VM the
host's speed drifts (a pure-Python loop on an idle guest varies by 20%, with nothing
else running in the guest), so a build measured in a slow minute looks expensive, and
its ratio to a build measured in a fast minute says little. Here every build is served
at the same time, each by its own venv and its own code (``bench/hold_server.py``), on
a database of its own. For each scenario the builds take turns: ``--reps`` rounds of
one ``--seconds`` burst each, in a rotated order. A ratio is the median of the
per-round ratios, each between bursts seconds apart, so a drift slower than a round
cancels out; their least and greatest, and the ratio of each build's best figure (as
``timeit`` keeps the least), are printed beside it, so the noise that remains shows.
Every burst is saved (``bench/results/paired-*.json``) and ``--report`` pools saved
runs: more rounds, a tighter median.

The builds are those of ``bench/trust.py`` (``base`` is the ``--base`` worktree at
``db733db``; ``unaudited``, ``audited``, ``shipped`` and ``token`` are ``--tree``). A
burst's figures are its server's CPU per request (every process of its session,
counted until 0.5 s after the burst so that the sequencer's pass over the burst's last
events is included), PostgreSQL's CPU per request (all its processes) and requests per
second. Idle builds stay quiet apart from an audited build's sequencer survey (a few ms
a second, in processes other than the measured server's). The targets are trust.py's,
judged on the median per-round ratio:

- audit: ``audited`` at most 1.20x the CPU per request of ``unaudited``, each write;
- 16 concurrent writers: ``audited`` create-run throughput at least 0.75 of ``base``'s.

``get_run`` is there as a control: audit does not touch a read, so its
``audited``/``unaudited`` ratio shows what noise alone does to a ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import loadgen
import procs
import trust

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOLD = BENCH_DIR / "hold_server.py"
DEFAULT_VARIANTS = ("base", "unaudited", "audited", "shipped")
TAIL_S = 0.5  # after a burst: longer than the sequencer's settle (0.25 s) before its pass
CELLS: tuple[tuple[str, int], ...] = (
    ("get_run", 1),
    ("create_run", 1),
    ("patch_run", 1),
    ("create_artifact", 1),
    ("create_run", 16),
)


@dataclass(frozen=True, slots=True)
class Served:
    """One build's server, as its holder reported it."""

    name: str
    base_url: str
    session_id: int
    requests: dict[str, loadgen.Request]


@dataclass(frozen=True, slots=True)
class Burst:
    cpu_ms: float  # server CPU per request
    db_ms: float  # PostgreSQL's CPU per request (every backend: the measured build's, mostly)
    rps: float
    other: float  # cores used meanwhile outside server, PostgreSQL and wrk


@contextmanager
def holding(v: trust.Variant, db: str, workdir: Path) -> Iterator[Served]:
    """Start the build's holder and wait until its server is seeded and answering."""
    flags = [f.removeprefix("--") for f in v.flags]
    argv = [
        str(v.tree / ".venv" / "bin" / "python"),
        str(HOLD),
        "--bench",
        str(v.tree / "bench"),
        "--backend",
        db,
        "--pg-db",
        f"maestro_bench_paired_{v.name}",
        "--workdir",
        str(workdir / f"{v.name}-{db}"),
        *(arg for f in flags for arg in ("--plan-flag", f)),
    ]
    print(f"--- {v.name}/{db}: seeding and starting ({v.tree})", flush=True)
    proc = subprocess.Popen(argv, cwd=v.tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        hello = None
        for line in proc.stdout:
            if line.startswith("HOLD "):
                hello = json.loads(line[len("HOLD ") :])
                break
            print("    " + line.rstrip(), flush=True)
        if hello is None:
            raise SystemExit(f"{v.name}/{db}: the holder ended before serving (rc={proc.wait()})")
        requests = {
            name: loadgen.Request(
                r["method"],
                r["path"],
                r["body"],
                Path(r["ids_file"]) if r["ids_file"] else None,
                r["expected_status"],
                r["token"],
            )
            for name, r in hello["requests"].items()
        }
        yield Served(v.name, hello["base_url"], hello["session_id"], requests)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()


def burst(s: Served, scenario: str, conc: int, seconds: int, db: str) -> Burst:
    """One wrk run against one build, with the CPU its server used meanwhile."""

    def snap() -> tuple[float, float, float, float]:
        pg = procs.comm_cpu_seconds("postgres") if db == "postgres" else 0.0
        server = procs.session_cpu_seconds(s.session_id)
        return server, pg, procs.machine_busy_seconds(), procs.children_cpu_seconds()

    before = snap()
    raw = loadgen.run_wrk(s.base_url, s.requests[scenario], conc, seconds, f"{scenario}{conc}")
    time.sleep(TAIL_S)  # the sequencer's last pass over this burst's events counts too
    server, pg, machine, wrk = (b - a for a, b in zip(before, snap(), strict=True))
    n = int(raw["requests"])
    errors = int(raw["unexpected_status"] + raw["socket_errors"] + raw["timeouts"])
    if errors or n == 0:
        raise SystemExit(f"{s.name}: {scenario} c{conc}: {errors} errors, {n} requests")
    duration = raw["duration_us"] / 1e6
    foreign = max(machine - server - pg - wrk, 0.0) / (duration + TAIL_S)
    return Burst(server * 1000 / n, pg * 1000 / n, n / duration, foreign)


Figures = dict[tuple[str, int], dict[str, list[Burst]]]  # (scenario, conc) -> variant -> bursts


def measure(served: list[Served], db: str, reps: int, seconds: int, cells: list[tuple[str, int]]) -> Figures:
    out: Figures = {}
    for scenario, conc in cells:
        cell: dict[str, list[Burst]] = {s.name: [] for s in served}
        for s in served:  # warm each build's path once
            loadgen.run_wrk(s.base_url, s.requests[scenario], conc, 1, f"w{scenario}")
        for rep in range(reps):
            order = served[rep % len(served) :] + served[: rep % len(served)]
            for s in order:
                cell[s.name].append(burst(s, scenario, conc, seconds, db))
        out[(scenario, conc)] = cell
        summary = "  ".join(
            f"{name} {statistics.median(b.cpu_ms if conc == 1 else b.rps for b in bs):.2f}"
            for name, bs in cell.items()
        )
        print(f"  {db} {scenario} c{conc}: {summary}", flush=True)
    return out


def paired_ratio(a: list[Burst], b: list[Burst], field: str) -> tuple[float, str]:
    """The median of the per-round ratios a/b (rounds pair up by index), and it as text
    with their least and greatest and, after ``best``, the ratio of the two builds' best
    figures (least CPU, most req/s): ``1.08 [0.97-1.15] best 1.05``."""
    rs = [getattr(x, field) / getattr(y, field) for x, y in zip(a, b, strict=True)]
    med = statistics.median(rs)
    pick = max if field == "rps" else min
    best = pick(getattr(x, field) for x in a) / pick(getattr(y, field) for y in b)
    return med, f"{med:.2f} [{min(rs):.2f}-{max(rs):.2f}] best {best:.2f}"


def save(path: Path, figures: dict[str, Figures], head: str) -> None:
    """Every burst, so that later runs can be pooled with this one (``--report``)."""
    doc = {
        "head": head,
        "figures": {
            db: {f"{s}:{c}": {v: [dataclasses.asdict(b) for b in bs] for v, bs in cell.items()}
                 for (s, c), cell in fig.items()}
            for db, fig in figures.items()
        },
    }  # fmt: skip
    path.write_text(json.dumps(doc, indent=1) + "\n")


def pooled(paths: list[Path]) -> dict[str, Figures]:
    """The bursts of several saved runs as one: each run's rounds stay paired, since every
    build has one burst per round in each."""
    out: dict[str, Figures] = {}
    for path in paths:
        for db, cells in json.loads(path.read_text())["figures"].items():
            fig = out.setdefault(db, {})
            for key, by_variant in cells.items():
                scenario, _, conc = key.partition(":")
                cell = fig.setdefault((scenario, int(conc)), {})
                for v, bursts in by_variant.items():
                    cell.setdefault(v, []).extend(Burst(**b) for b in bursts)
    return out


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def report(db: str, fig: Figures, names: list[str]) -> tuple[list[str], bool]:
    lines = [
        f"\n{db}: median server CPU ms per request, and req/s at c16 "
        "(median per-round ratio to base [least-greatest] and the ratio of the best figures)"
    ]
    lines.append("| scenario | " + " | ".join(names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    rows = [(s, c, "cpu_ms") for s, c in fig if c == 1]
    rows += [(s, c, f) for s, c in fig if c != 1 for f in ("rps", "cpu_ms")]
    rows += [(s, c, "db_ms") for s, c in fig] if db == "postgres" else []
    for scenario, conc, field in rows:
        cell = fig[(scenario, conc)]
        cells = []
        for v in names:
            med = statistics.median(getattr(b, field) for b in cell[v])
            text = f"{med:.0f}" if field == "rps" else f"{med:.2f}"
            if "base" in cell and v != "base":
                text += f" ({paired_ratio(cell[v], cell['base'], field)[1]})"
            cells.append(text)
        what = {"rps": " req/s", "cpu_ms": "", "db_ms": " PostgreSQL CPU ms"}[field]
        label = f"{scenario}{'' if conc == 1 else f' c{conc}'}{what}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    ok = True
    lines.append(f"\n{db}: targets, judged on the median per-round ratio")
    for (scenario, conc), cell in fig.items():
        if conc != 1 or "audited" not in cell or "unaudited" not in cell:
            continue
        r, text = paired_ratio(cell["audited"], cell["unaudited"], "cpu_ms")
        if scenario in trust.WRITES:
            passed = r <= trust.AUDIT_CPU_AT_MOST
            ok &= passed
            limit = f"(<= {trust.AUDIT_CPU_AT_MOST:.2f})"
            lines.append(f"- audited/unaudited CPU {scenario}: {text} {limit} {_verdict(passed)}")
        else:
            lines.append(f"- (control, not judged) audited/unaudited CPU {scenario}: {text}")
    cell = fig.get(("create_run", 16), {})
    if "audited" in cell and "base" in cell:
        r, text = paired_ratio(cell["audited"], cell["base"], "rps")
        passed = r >= trust.C16_AT_LEAST
        ok &= passed
        limit = f"(>= {trust.C16_AT_LEAST:.2f})"
        lines.append(f"- audited/base create_run req/s at c16: {text} {limit} {_verdict(passed)}")
    if "shipped" in cell and "base" in cell:
        text = paired_ratio(cell["shipped"], cell["base"], "rps")[1]
        lines.append(f"- (not judged) shipped/base create_run c16 req/s, recorder on: {text}")
    noise = max(b.other for c in fig.values() for bs in c.values() for b in bs)
    lines.append(f"- other processes (and the host's steal) used up to {noise:.2f} cores in a burst")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5, help="rounds per scenario (each build one burst a round)")
    p.add_argument("--seconds", type=int, default=3, help="seconds per burst")
    p.add_argument("--db", default="sqlite,postgres")
    p.add_argument("--base", type=Path, default=ROOT.parent / "wt" / "base")
    p.add_argument("--step0", type=Path, default=ROOT.parent / "wt" / "step0")
    p.add_argument("--tree", type=Path, default=ROOT, help="the build measured as unaudited/audited/shipped")
    p.add_argument("--only-variants", default=",".join(DEFAULT_VARIANTS))
    p.add_argument("--workdir", type=Path, default=BENCH_DIR / ".work-paired")
    p.add_argument(
        "--cells",
        default=",".join(f"{s}:{c}" for s, c in CELLS),
        help="comma list of scenario:concurrency (default: %(default)s)",
    )
    p.add_argument(
        "--report",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="measure nothing: pool these saved runs (bench/results/paired-*.json) and report them",
    )
    args = p.parse_args(argv)
    cells = [(s, int(c)) for s, _, c in (x.partition(":") for x in args.cells.split(",") if x)]
    wanted = [n for n in args.only_variants.split(",") if n]
    if args.report:  # saved runs need no builds
        figures, head = pooled(args.report), "pooled: " + " ".join(str(f) for f in args.report)
    else:
        chosen = [v for v in trust.variants(args) if v.name in wanted]
        for v in chosen:
            if not (v.tree / ".venv" / "bin" / "python").exists():
                p.error(f"{v.name}: no venv in {v.tree}; see bench/trust.py for how to make the worktree")
        figures, head = run_all(chosen, cells, args)
    text: list[str] = [head]
    ok = True
    for db, fig in figures.items():
        lines, passed = report(db, fig, list(next(iter(fig.values()))))  # the builds, in run order
        text += lines
        ok &= passed
    print("\n".join(text), flush=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = BENCH_DIR / "results" / f"paired-{stamp}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(text) + "\n")
    if not args.report:
        save(out.with_suffix(".json"), figures, head)
    print(f"\nwritten to {out.relative_to(ROOT)}.md" + ("" if args.report else " and .json"))
    return 0 if ok else 1


def run_all(
    chosen: list[trust.Variant], cells: list[tuple[str, int]], args: argparse.Namespace
) -> tuple[dict[str, Figures], str]:
    """Serve every build on each database in turn and measure the cells there."""
    procs.install_cleanup()
    loadgen.ensure_wrk()
    started, at = time.monotonic(), time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    figures: dict[str, Figures] = {}
    for db in (d for d in args.db.split(",") if d):
        with ExitStack() as stack:
            served = [stack.enter_context(holding(v, db, args.workdir)) for v in chosen]
            figures[db] = measure(served, db, args.reps, args.seconds, cells)
    head = (
        f"bench/paired.py --reps {args.reps} --seconds {args.seconds} --db {args.db} "
        f"({time.monotonic() - started:.0f} s, started {at} UTC)"
    )
    return figures, head


if __name__ == "__main__":
    sys.exit(main())
