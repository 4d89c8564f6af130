"""Turn measurements into the one printed table (figures, ratios, targets) and a JSON file.

Ratios and target checks are computed here, from the same numbers that are
printed, so the verdicts can always be traced back to a row of the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from loadgen import NOISY_CORES, Measurement

REFERENCE = (
    "reference on this machine (brief): MLflow create run ~43 runs/s at c1 and c16, 16 ms server CPU/run; "
    "bare FastAPI+SQLite insert ceiling ~1.4 ms CPU/request"
)
Key = tuple[str, str, str, str]  # target, server label, db, scenario
TARGET_WIDTH = 17  # "maestro-unaudited"


@dataclass(frozen=True)
class Line:
    """One row of the ratio or target part of the table."""

    label: str
    value: str
    verdict: str = ""


def _key(m: Measurement) -> Key:
    return (m.target, m.config.get("server", ""), m.db, m.scenario)


def _grouped(results: Iterable[Measurement]) -> dict[Key, dict[int, Measurement]]:
    groups: dict[Key, dict[int, Measurement]] = {}
    for m in results:
        groups.setdefault(_key(m), {})[m.concurrency] = m
    return groups


def _find(
    results: Sequence[Measurement], target: str, db: str, scenario: str, conc: int
) -> Measurement | None:
    for m in results:
        if (m.target, m.db, m.scenario, m.concurrency) == (target, db, scenario, conc):
            return m
    return None


def _cell(m: Measurement | None) -> str:
    if m is None:
        return f"{'-':>8} {'-':>7} {'-':>8} {'-':>6}"
    return f"{m.rps:8.1f} {m.p50_ms:7.2f} {m.p99_ms:8.2f} {m.cpu_ms_per_req:6.2f}"


def measurement_rows(results: Sequence[Measurement], concurrencies: Sequence[int]) -> list[str]:
    """Header plus one row per (target, server, db, scenario) with every concurrency side by side."""
    c_head = "".join(
        f" | c{c:<3}{'req/s':>5} {'p50 ms':>7} {'p99 ms':>8} {'cpu ms':>6}" for c in concurrencies
    )
    tail = f" | {'db cpu':>6} {'other':>5} {'errors':>6}"
    head = f"{'target':<{TARGET_WIDTH}} {'server':<26} {'db':<8} {'scenario':<17}{c_head}{tail}"
    lines = [head]
    lines.append("-" * len(lines[0]))
    for (target, server, db, scenario), by_conc in _grouped(results).items():
        cells = "".join(" | " + _cell(by_conc.get(c)) for c in concurrencies)
        db_cpu = [m.db_cpu_ms_per_req for m in by_conc.values() if m.db_cpu_ms_per_req is not None]
        db_txt = f"{max(db_cpu):6.2f}" if db_cpu else f"{'-':>6}"
        errors = sum(m.errors for m in by_conc.values())
        other = max(m.other_cores for m in by_conc.values())
        row = (
            f"{target:<{TARGET_WIDTH}} {server:<26} {db:<8} {scenario:<17}{cells}"
            f" | {db_txt} {other:5.2f} {errors:>6}"
        )
        lines.append(row + ("  <- other load" if other >= NOISY_CORES else ""))
    return lines


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def maestro_targets(results: Iterable[Measurement]) -> list[str]:
    """The Maestro variants measured: ``maestro`` (as shipped), ``maestro-token``, ``maestro-unaudited``..."""
    return sorted({m.target for m in results if m.target.startswith("maestro")})


def _where(db: str, target: str) -> str:
    return db if target == "maestro" else f"{db} {target}"


def ratio_lines(
    results: Sequence[Measurement], dbs: Sequence[str], concurrencies: Sequence[int], target: str = "maestro"
) -> list[Line]:
    """Maestro/MLflow for create and update run, Maestro/ceiling for create run: req/s and CPU per request."""
    lines = []
    for db in dbs:
        for other, pairs in (("mlflow", ("create_run", "patch_run")), ("ceiling", ("create_run",))):
            for scenario in pairs:
                for c in concurrencies:
                    ours = _find(results, target, db, scenario, c)
                    theirs = _find(results, other, "sqlite", scenario, c)
                    if ours is None or theirs is None:
                        continue
                    label = f"{target}[{db}]/{other} {scenario} c{c}"
                    value = (
                        f"req/s {_ratio(ours.rps, theirs.rps)}  "
                        f"cpu/req {_ratio(ours.cpu_ms_per_req, theirs.cpu_ms_per_req)}"
                    )
                    lines.append(Line(label, value))
    return lines


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def _metric(m: Measurement | None, attr: str) -> float | None:
    return None if m is None else float(getattr(m, attr))


def target_lines(
    results: Sequence[Measurement], dbs: Sequence[str], concurrencies: Sequence[int], variant: str = "maestro"
) -> list[Line]:
    """The brief's targets, each with its verdict, for one Maestro variant (labelled unless
    it is ``maestro`` as shipped).

    Latency targets are judged at c1: at c16 on one worker, p50 is mostly queueing (about 16/rps).
    """
    lines: list[Line] = []
    hi = max(concurrencies)
    for db in dbs:

        def get(scenario: str, c: int, target: str = variant, where: str = db) -> Measurement | None:
            return _find(results, target, where, scenario, c)

        tag = _where(db, variant)
        for c in concurrencies:
            cpu = _metric(get("create_run", c), "cpu_ms_per_req")
            lines.append(
                Line(
                    f"[{tag}] create run CPU <= 2 ms/req (c{c})",
                    _fmt(cpu, "ms"),
                    _check(cpu, lambda v: v <= 2),
                )
            )
        ours, theirs = (
            _metric(get("create_run", hi), "rps"),
            _metric(get("create_run", hi, "mlflow", "sqlite"), "rps"),
        )
        x = None if ours is None or not theirs else ours / theirs
        lines.append(
            Line(f"[{tag}] create run >= 5x MLflow req/s (c{hi})", _fmt(x, "x"), _check(x, lambda v: v >= 5))
        )
        p50 = _metric(get("list_owner_p1", 1), "p50_ms")
        lines.append(
            Line(f"[{tag}] selective list p50 <= 5 ms (c1)", _fmt(p50, "ms"), _check(p50, lambda v: v <= 5))
        )
        p99 = _metric(get("gate_1m", 1), "p99_ms")
        lines.append(
            Line(
                f"[{tag}] gate p99 < 10 ms with 1M artifacts (c1)",
                _fmt(p99, "ms"),
                _check(p99, lambda v: v < 10),
            )
        )
        p99v = _metric(get("gate_1m_verified", 1), "p99_ms")
        lines.append(
            Line(
                f"[{tag}] verified-evidence gate p99 < 10 ms with 1M artifacts (c1)",
                _fmt(p99v, "ms"),
                _check(p99v, lambda v: v < 10),
            )
        )
        ratio = None if p99v is None or not p99 else p99v / p99
        lines.append(Line(f"[{tag}] verified-evidence/seed-default gate p99 at 1M (c1)", _fmt(ratio, "x")))
        for c in concurrencies:
            big, small = _metric(get("gate_1m", c), "p99_ms"), _metric(get("gate_10k", c), "p99_ms")
            r = None if big is None or not small else big / small
            lines.append(
                Line(f"[{tag}] gate p99 1M/10k <= 1.5x (c{c})", _fmt(r, "x"), _check(r, lambda v: v <= 1.5))
            )
        for base in ("list_owner", "list_status"):
            deep, first = _metric(get(f"{base}_deep", 1), "p50_ms"), _metric(get(f"{base}_p1", 1), "p50_ms")
            r = None if deep is None or not first else deep / first
            lines.append(
                Line(
                    f"[{tag}] {base} deep/page-1 p50 <= 1.5x (c1)",
                    _fmt(r, "x"),
                    _check(r, lambda v: v <= 1.5),
                )
            )
    return lines


def _fmt(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:.2f} {unit}"


def _check(value: float | None, ok: Callable[[float], bool]) -> str:
    return _verdict(None if value is None else ok(value))


def render(
    results: Sequence[Measurement], concurrencies: Sequence[int], title: str, *, summary: bool = True
) -> str:
    """The whole printed table: measurements, then (``summary``) ratios and target verdicts.

    The server comparison turns the summary off: it holds several configurations
    per scenario, and ratios across them would pair arbitrary rows.
    """
    out = [title, *measurement_rows(results, concurrencies)]
    ratios: list[Line] = []
    targets: list[Line] = []
    for variant in maestro_targets(results) if summary else []:
        dbs = _dbs(results, variant)
        ratios += ratio_lines(results, dbs, concurrencies, variant)
        targets += target_lines(results, dbs, concurrencies, variant)
    if ratios:
        width = max(42, *(len(r.label) for r in ratios))
        out += ["", "ratios (maestro / other; req/s > 1 is better for maestro, cpu/req < 1 is better)"]
        out += [f"  {r.label:<{width}} {r.value}" for r in ratios]
    if targets:
        width = max(50, *(len(t.label) for t in targets))
        out += ["", "targets"]
        out += [f"  {t.label:<{width}} {t.value:>10}  {t.verdict}" for t in targets]
    out += ["", REFERENCE]
    return "\n".join(out)


def _dbs(results: Iterable[Measurement], target: str) -> list[str]:
    return sorted({m.db for m in results if m.target == target}, key=lambda d: (d != "sqlite", d))


def write_json(
    path: Path, results: Sequence[Measurement], meta: dict[str, object], *, summary: bool = True
) -> None:
    """Raw measurements plus run metadata, for comparing runs over time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    concs = sorted({m.concurrency for m in results})
    ratios: list[Line] = []
    targets: list[Line] = []
    for variant in maestro_targets(results) if summary and concs else []:
        dbs = _dbs(results, variant)
        ratios += ratio_lines(results, dbs, concs, variant)
        targets += target_lines(results, dbs, concs, variant)
    doc = {
        "meta": meta,
        "measurements": [m.to_json() for m in results],
        "ratios": [r.__dict__ for r in ratios],
        "targets": [t.__dict__ for t in targets],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
