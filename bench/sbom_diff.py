"""sbom-diff benchmark: two runs of N components each (default 500k), time and server memory.

    .venv/bin/python bench/sbom_diff.py [--db sqlite|postgres] [--components N] [--repeats R]

Seeds both runs straight into the component table (no parsing), starts a real
Maestro server (uvicorn, one worker) on 127.0.0.1, and times
``GET /maestro/runs/{a}/sbom-diff/{b}`` read to the last byte, sampling the
server's RSS every 10 ms. The two runs share half their keys unchanged, a
quarter with another version, and each has an eighth of its own, so every part
of the answer is large (500k per side: 375k entries, ~39 MB of JSON).
Targets (issue 8): <= 3 s and <= 100 MB server RSS growth at 500k per side.
Writes bench/results/sbom-diff-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from local_server import Server, database_url  # noqa: E402

PG_DB = "maestro_bench_sbom_diff"
BATCH = 20_000
DIGEST = "sha256:" + "0" * 64


def _keys(side: int, n: int) -> Iterator[tuple[str, str]]:
    """(purl_base, version) per component: shared-unchanged, shared-changed, own."""
    half, quarter = n // 2, n // 4
    for i in range(n):
        if i < half:
            yield f"pkg:npm/shared{i}", "1.0.0"
        elif i < half + quarter:
            yield f"pkg:npm/moved{i}", f"{1 + side}.0.0"
        else:
            yield f"pkg:npm/side{side}-{i}", "1.0.0"


def seed(url: str, n: int) -> tuple[str, str]:
    """Two runs with one SBOM artifact each (content attached) and ``n`` components per run."""
    from sqlalchemy import insert

    from maestro.db import migrate
    from maestro.db.engine import Database
    from maestro.db.tables import ArtifactRow, RunRow
    from maestro.ids import uuid7
    from maestro.storage.evidence import insert_components, lease_blob

    db = Database(url)
    migrate.upgrade(db.engine)
    now = datetime.now(UTC)
    runs = []
    for side in (0, 1):
        run_id, artifact_id = uuid7(), uuid7()
        run = {"id": run_id, "name": f"side {side}", "owner": "bench", "status": "succeeded",
               "started_at": now, "finished_at": now, "cost_estimate": None, "cost_actual": None,
               "related_entity_ids": [], "related_decision_ids": [], "metadata": {}, "updated_at": now,
               "version": 1}  # fmt: skip
        artifact = {"id": artifact_id, "run_id": run_id, "kind": "sbom", "path_or_uri": "bench",
                    "content_hash": None, "created_at": now, "sbom_present": True,
                    "slsa_provenance_present": False, "risk_assessment_present": False,
                    "additional_metadata": {}, "content_digest": DIGEST, "content_size": 0}  # fmt: skip
        with db.write() as session:  # the index shows only artifacts with content attached
            lease_blob(session, DIGEST, 0, now, now)
            session.execute(insert(RunRow.__table__), [run])
            session.execute(insert(ArtifactRow.__table__), [artifact])
        batch: list[dict[str, Any]] = []
        for base, version in _keys(side, n):
            batch.append({"id": uuid7(), "artifact_id": artifact_id, "run_id": run_id,
                          "purl": f"{base}@{version}", "purl_base": base, "name": base.rsplit("/", 1)[1],
                          "version": version, "hashes": {}, "licenses": [], "created_at": now})  # fmt: skip
            if len(batch) >= BATCH:
                with db.write() as session:
                    insert_components(session, batch)
                batch = []
        with db.write() as session:
            insert_components(session, batch)
        runs.append(run_id)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE components" if db.dialect == "postgresql" else "ANALYZE")
    db.dispose()
    return runs[0], runs[1]


def measure(server: Server, base: str, head: str, expected_unchanged: int) -> dict[str, Any]:
    baseline = server.rss_bytes()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_bytes())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    size = 0
    with httpx.stream("GET", f"{server.url}/maestro/runs/{base}/sbom-diff/{head}", timeout=300) as response:
        response.raise_for_status()
        first, last = None, b""
        for chunk in response.iter_bytes():
            first = first or time.perf_counter()
            size += len(chunk)
            last = (last + chunk)[-64:]
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if not last.endswith(b'"unchanged":%d}' % expected_unchanged):  # an empty diff is no measure
        raise SystemExit(f"unexpected end of the answer: {last!r}")
    return {"seconds": round(elapsed, 2), "first_byte_s": round((first or started) - started, 2),
            "bytes": size, "rss_baseline_mb": round(baseline / 1e6, 1),
            "rss_growth_mb": round((peak[0] - baseline) / 1e6, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--components", type=int, default=500_000, help="per run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {"db": args.db, "components_per_run": args.components, "runs": []}
    with tempfile.TemporaryDirectory(prefix="maestro-bench-diff-") as tmp:
        url = database_url(args.db, Path(tmp), PG_DB)
        print(f"seeding 2 x {args.components} components ({args.db}) ...", flush=True)
        started = time.perf_counter()
        base, head = seed(url, args.components)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        server = Server({"MAESTRO_DATA_DIR": tmp, "MAESTRO_DATABASE_URL": url, "MAESTRO_ACCESS_LOG": "false"})
        try:
            for i in range(args.repeats):
                result = measure(server, base, head, args.components // 2)
                results["runs"].append(result)
                print(f"  #{i + 1}: {result}", flush=True)
        finally:
            server.stop()
    best = min(results["runs"], key=lambda r: r["seconds"])
    worst_rss = max(r["rss_growth_mb"] for r in results["runs"])
    time_ok, rss_ok = best["seconds"] <= 3, worst_rss <= 100
    print(f"\nsbom-diff {args.components} per side on {args.db}: best {best['seconds']} s "
          f"(target <= 3 s) {'PASS' if time_ok else 'FAIL'}; server RSS +{worst_rss} MB "
          f"(target <= 100 MB) {'PASS' if rss_ok else 'FAIL'}; {best['bytes'] / 1e6:.1f} MB")  # fmt: skip
    out = ROOT / "bench" / "results" / f"sbom-diff-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
