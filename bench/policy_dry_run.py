"""Policy dry-run benchmark: ``POST /maestro/policies/{id}/dry-run`` over N runs (default
10k) with three artifacts each, against a real server, on SQLite or PostgreSQL.

    .venv/bin/python bench/policy_dry_run.py [--db sqlite|postgres] [--runs N] [--repeats R] [--port P]

Seeds straight into the tables (no parsing per run): every run has three artifacts
carrying stored evidence views as an upload writes them (an SBOM describing the release,
SLSA provenance naming it, a risk assessment), each declaring its flags. Even runs carry
the verified views, odd runs only the declarations; four in five runs succeeded. The
candidate is a stored ``verified-evidence`` policy, the runs are judged now by the
built-in ``seed-default``, so exactly the succeeded odd runs change verdict (checked).
Each repeat times the whole request (10k runs: every run judged under both policies).
Target (issue 10): a dry-run over 10k runs in under 10 s. Writes
bench/results/policy-dry-run-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from local_server import Server, database_url, drop_database  # noqa: E402
from seed import _verified_evidence  # noqa: E402 - the gate bench's evidence views

PG_DB = os.environ.get("MAESTRO_BENCH_PG_DATABASE", "maestro_bench_dry_run")
TARGET_S = 10.0
BATCH = 5000
KINDS = ("sbom", "slsa_provenance", "risk_assessment")


def _rows(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    from maestro.ids import uuid7

    views = _verified_evidence()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    runs, artifacts, changing = [], [], 0
    for i in range(n):
        run_id, at = uuid7(), start + timedelta(seconds=i)
        status = "failed" if i % 5 == 4 else "succeeded"
        runs.append({"id": run_id, "tenant_id": "default", "name": f"run {i}", "owner": f"team-{i % 20}",
                     "status": status, "started_at": at, "finished_at": at, "cost_estimate": None,
                     "cost_actual": None, "related_entity_ids": [], "related_decision_ids": [],
                     "metadata": {"pipeline": "ci"}, "updated_at": at, "version": 1})  # fmt: skip
        verified = i % 2 == 0
        changing += status == "succeeded" and not verified
        for kind in KINDS:
            artifacts.append({"id": uuid7(), "tenant_id": "default", "run_id": run_id, "kind": kind,
                              "path_or_uri": f"s3://bench/{run_id}/{kind}", "content_hash": None,
                              "created_at": at, "sbom_present": True, "slsa_provenance_present": True,
                              "risk_assessment_present": True, "additional_metadata": {},
                              "evidence": views[kind] if verified else None,
                              "verified_sbom": verified and kind == "sbom",
                              "verified_slsa_provenance": verified and kind == "slsa_provenance",
                              "verified_risk_assessment": verified and kind == "risk_assessment",
                              })  # fmt: skip
    return runs, artifacts, changing


def seed(url: str, n: int) -> int:
    """The runs and artifacts; the number of runs whose verdict the candidate changes."""
    from sqlalchemy import insert

    from maestro.db import migrate
    from maestro.db.engine import Database
    from maestro.db.tables import ArtifactRow, RunRow

    db = Database(url)
    migrate.upgrade(db.engine)
    runs, artifacts, changing = _rows(n)
    for table, rows in ((RunRow.__table__, runs), (ArtifactRow.__table__, artifacts)):
        for i in range(0, len(rows), BATCH):
            with db.write() as session:
                session.execute(insert(table), rows[i : i + BATCH])
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE")
    db.dispose()
    return changing


def measure(server: Server, policy_id: str, n: int, changing: int) -> dict[str, Any]:
    """Wall time of the request and the server's CPU time for it: on a machine shared with
    other work the first includes waiting for a core, the second does not."""
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    response = httpx.post(
        f"{server.url}/maestro/policies/{policy_id}/dry-run", json={"limit": n}, timeout=300
    )
    elapsed = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu
    response.raise_for_status()
    body = response.json()
    got = (body["considered"], body["changed_total"])
    if got != (n, changing):  # a wrong answer is no measure
        raise SystemExit(f"unexpected answer: (considered, changed_total) = {got}, not {(n, changing)}")
    return {
        "seconds": round(elapsed, 3),
        "server_cpu_s": round(cpu, 3),
        "considered": n,
        "changed_total": changing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=18710)
    args = parser.parse_args()
    results: dict[str, Any] = {"db": args.db, "runs": args.runs, "artifacts_per_run": 3, "repeats": []}
    with tempfile.TemporaryDirectory(prefix="maestro-bench-dry-run-") as tmp:
        url = database_url(args.db, Path(tmp), PG_DB)
        try:
            print(f"seeding {args.runs} runs x 3 artifacts ({args.db}) ...", flush=True)
            started = time.perf_counter()
            changing = seed(url, args.runs)
            print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
            env = {"MAESTRO_DATA_DIR": tmp, "MAESTRO_DATABASE_URL": url, "MAESTRO_ACCESS_LOG": "false"}
            server = Server(env, args.port)
            try:
                body = {"name": "candidate", "kind": "builtin", "builtin": "verified-evidence"}
                policy = httpx.post(f"{server.url}/maestro/policies", json=body, timeout=30).json()
                for i in range(args.repeats):
                    result = measure(server, policy["id"], args.runs, changing)
                    results["repeats"].append(result)
                    print(f"  #{i + 1}: {result}", flush=True)
            finally:
                server.stop()
        finally:
            drop_database(args.db, PG_DB)
    best = min(r["seconds"] for r in results["repeats"])
    cpu = min(r["server_cpu_s"] for r in results["repeats"])
    load = os.getloadavg()[0]
    results |= {"best_s": best, "best_server_cpu_s": cpu, "target_s": TARGET_S,
                "ratio_to_target": round(best / TARGET_S, 3), "load_average_1m": round(load, 2)}  # fmt: skip
    verdict = "PASS" if best < TARGET_S else "FAIL"
    print(f"\ndry-run over {args.runs} runs on {args.db}: best {best} s wall, {best / TARGET_S:.2f} of the "
          f"{TARGET_S:g} s target {verdict}; server CPU {cpu} s ({cpu / TARGET_S:.2f} of the target); "
          f"load average {load:.1f} on {os.cpu_count()} cores")  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"policy-dry-run-{args.db}-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
