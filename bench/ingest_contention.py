"""How long a small write waits while a huge SBOM is being indexed (issue 8, item 8).

    .venv/bin/python bench/ingest_contention.py [--components 500000] [--db sqlite|postgres]

Against a real Maestro server (uvicorn, one worker) on 127.0.0.1: one client uploads a
CycloneDX SBOM of N components while another creates a run every 50 ms. Reports the
ingest's wall time and the creates' latency while it ran (max, p99, p50; target: max
about 1 s on SQLite). A third client checks that the index is never seen half-built:
once the SBOM's first component is findable, its last one must be too.
Writes bench/results/ingest-contention-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evidence import PG_DB, cyclonedx_json, new_artifact  # noqa: E402
from local_server import Server, database_url, drop_database  # noqa: E402


def _creates(url: str, stop: threading.Event, interval: float, out: list[tuple[float, float, int]]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            status = client.post("/maestro/runs", json={"name": "small", "owner": "bench"}).status_code
            out.append((started, time.perf_counter() - started, status))
            time.sleep(interval)


def _probes(url: str, stop: threading.Event, out: list[tuple[float, float, int]]) -> None:
    """/healthz touches no database: its latency is the process's own (GIL, event loop),
    which tells a stall of the whole process apart from waiting for the write lock."""
    with httpx.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            status = client.get("/healthz").status_code
            out.append((started, time.perf_counter() - started, status))
            time.sleep(0.05)


def _during(
    samples: list[tuple[float, float, int]], start: float, end: float
) -> list[tuple[float, float, int]]:
    return [x for x in samples if x[0] < end and x[0] + x[1] > start]


def _watch_index(url: str, stop: threading.Event, first: str, last: str, out: dict[str, Any]) -> None:
    """Half an index would show the first component without the last."""
    with httpx.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            seen_first = bool(client.get("/maestro/components", params={"purl": first}).json())
            if seen_first:
                seen_last = bool(client.get("/maestro/components", params={"purl": last}).json())
                out["half_seen"] = out.get("half_seen", 0) + (not seen_last)
                out["checks"] = out.get("checks", 0) + 1
            time.sleep(0.2)


def measure(url: str, components: int) -> dict[str, Any]:
    data = cyclonedx_json(components, seed=7)
    with httpx.Client(base_url=url, timeout=600) as client:
        artifact = new_artifact(client, "sbom")
        waits: list[tuple[float, float, int]] = []
        probes: list[tuple[float, float, int]] = []
        index: dict[str, Any] = {}
        stop = threading.Event()
        first = "pkg:pypi/lib0@1.0.7"
        last = f"pkg:pypi/lib{components - 1}@1.{(components - 1) % 97}.7"
        threads = [
            threading.Thread(target=_creates, args=(url, stop, 0.05, waits)),
            threading.Thread(target=_watch_index, args=(url, stop, first, last, index)),
            threading.Thread(target=_probes, args=(url, stop, probes)),
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        started = time.perf_counter()
        response = client.put(f"/maestro/artifacts/{artifact}/content", content=data)
        ended = time.perf_counter()
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join()
    assert response.status_code == 201, response.text[:300]
    creates = _during(waits, started, ended)
    during = sorted(w for _, w, _ in creates)
    failed = sum(1 for *_, status in creates if status != 201)
    slowest = sorted(creates, key=lambda x: -x[1])[:3]
    health = sorted(w for _, w, _ in _during(probes, started, ended))
    return {
        "components": components,
        "size_mb": round(len(data) / 1e6, 1),
        "ingest_seconds": round(ended - started, 2),
        "creates_during": len(during),
        "creates_failed": failed,
        "create_wait_max_s": round(during[-1], 3) if during else None,
        "create_wait_p99_s": round(during[int(len(during) * 0.99) - 1], 3) if len(during) > 1 else None,
        "create_wait_p50_s": round(statistics.median(during), 3) if during else None,
        "slowest_creates_at_s": [[round(s - started, 1), round(w, 2)] for s, w, _ in slowest],
        "healthz_max_s": round(health[-1], 3) if health else None,
        "index_checks": index.get("checks", 0),
        "index_seen_half_built": index.get("half_seen", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=500_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maestro-ingest-") as tmp:
        env = {
            "MAESTRO_DATA_DIR": tmp,
            "MAESTRO_DATABASE_URL": database_url(args.db, Path(tmp), PG_DB),
            "MAESTRO_MAX_PARSE_BYTES": str(1 << 30),
            "MAESTRO_MAX_UPLOAD_BYTES": str(1 << 30),
            "MAESTRO_ACCESS_LOG": "false",
        }
        server = Server(env)
        try:
            result = {"db": args.db, **measure(server.url, args.components)}
        finally:
            server.stop()
            drop_database(args.db, PG_DB)
    print(json.dumps(result, indent=2))
    out = BENCH / "results" / f"ingest-contention-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
