"""Disclosure-pack export benchmark: a pack of N artifacts of M bytes, server RSS growth.

    .venv/bin/python bench/pack_export.py [--db sqlite|postgres] [--artifacts 100] [--mb 1]
                                          [--repeats 3] [--port 18500]

Starts a real Maestro server (uvicorn, one worker, blobs in a local directory) on
127.0.0.1, uploads N artifacts of random (incompressible) bytes through the API,
makes a pack of them, then reads ``GET /maestro/disclosure-packs/{id}/export`` to
the last byte while sampling the server's VmRSS every 10 ms. The archive is then
verified offline (``maestro.pack_archive.verify``), so a fast but wrong export
cannot pass. Target (issue 10): streamed, server RSS growth < 50 MB at 100 x 1 MB.
Writes bench/results/pack-export-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from local_server import Server, database_url  # noqa: E402

PG_DB = "maestro_bench_pack_export"


def seed(client: httpx.Client, count: int, size: int) -> str:
    run = client.post("/maestro/runs", json={"name": "bench", "owner": "bench"}).json()["id"]
    for i in range(count):
        body = {"run_id": run, "kind": "other", "path_or_uri": f"bench://blob-{i}.bin"}
        artifact = client.post("/maestro/artifacts", json=body).json()["id"]
        put = client.put(
            f"/maestro/artifacts/{artifact}/content",
            content=os.urandom(size),
            headers={"content-type": "application/octet-stream"},
            timeout=120,
        )
        put.raise_for_status()
    pack = client.post("/maestro/disclosure-packs", json={"run_id": run, "summary": "bench"})
    pack.raise_for_status()
    return str(pack.json()["id"])


def measure(server: Server, pack_id: str, out: Path) -> dict[str, Any]:
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
    url = f"{server.url}/maestro/disclosure-packs/{pack_id}/export"
    with httpx.stream("GET", url, timeout=300) as response, open(out, "wb") as file:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            file.write(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"seconds": round(elapsed, 2), "bytes": size, "rss_baseline_mb": round(baseline / 1e6, 1),
            "rss_growth_mb": round((peak[0] - baseline) / 1e6, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--artifacts", type=int, default=100)
    parser.add_argument("--mb", type=float, default=1.0, help="size of each artifact, MB")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=18500)
    args = parser.parse_args()
    from maestro.pack_archive.verify import parse_keys, verify

    size = int(args.mb * 1_000_000)
    results: dict[str, Any] = {"db": args.db, "artifacts": args.artifacts, "bytes_each": size, "runs": []}
    with tempfile.TemporaryDirectory(prefix="maestro-bench-pack-") as tmp:
        url = database_url(args.db, Path(tmp), PG_DB)
        env = {"MAESTRO_DATA_DIR": tmp, "MAESTRO_DATABASE_URL": url, "MAESTRO_ACCESS_LOG": "false"}
        server = Server(env, args.port)
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                print(f"uploading {args.artifacts} x {size} bytes ({args.db}) ...", flush=True)
                pack_id = seed(client, args.artifacts, size)
                keys = parse_keys(client.get("/maestro/keys").content)
            for i in range(args.repeats):
                archive = Path(tmp) / f"pack-{i}.tar.gz"
                result = measure(server, pack_id, archive)
                verdict = verify(archive, keys)
                result["verified"] = verdict.ok
                if not verdict.ok:
                    raise SystemExit(f"the export does not verify: {verdict.problems[:3]}")
                results["runs"].append(result)
                print(f"  #{i + 1}: {result}", flush=True)
        finally:
            server.stop()
    worst = max(r["rss_growth_mb"] for r in results["runs"])
    best = min(r["seconds"] for r in results["runs"])
    print(f"\npack export {args.artifacts} x {args.mb} MB on {args.db}: best {best} s; server RSS "
          f"+{worst} MB (target < 50 MB) {'PASS' if worst < 50 else 'FAIL'}; verified offline")  # fmt: skip
    out = ROOT / "bench" / "results" / f"pack-export-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
