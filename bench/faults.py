"""Fault-injection bench: what a stalled S3 and large parses do to a real server.

    .venv/bin/python bench/faults.py [--root DIR] [--only s3,parse] [--settings defaults|fast]

Starts SeaweedFS (the tests' fixture code) and Maestro (uvicorn, one worker,
SQLite) on 127.0.0.1, then:

s3     45 concurrent downloads while SeaweedFS is SIGSTOPped, measuring /healthz
       and GET /maestro/runs latency meanwhile; one upload during the stall;
       /readyz latency during the stall.
parse  peak memory (PSS) of the server's whole process tree (server, forkserver, parse
       workers) for a zip that expands a lot, 8 of them in parallel, and a large
       JUnit file.

``--root /work/main`` serves an older checkout's code with this venv, for a
before/after comparison. Figures are printed; nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from tests.maestro.seaweed import SeaweedServer, weed_binary  # noqa: E402
from tests.maestro.serving_helpers import setting_env, tree_rss  # noqa: E402

MiB = 1024**2


def timed(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        status = str(http.request(method, path, **kwargs).status_code)
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return time.perf_counter() - started, status


def probe(http: httpx.Client, seconds: float) -> dict[str, list[tuple[float, str]]]:
    found: dict[str, list[tuple[float, str]]] = {"/healthz": [], "/maestro/runs?limit=10": []}
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for path, seen in found.items():
            seen.append(timed(http, "GET", path, timeout=5))
    return found


def figures(label: str, samples: list[tuple[float, str]]) -> str:
    times = sorted(t for t, _ in samples)
    statuses: dict[str, int] = {}
    for _, status in samples:
        statuses[status] = statuses.get(status, 0) + 1
    p50 = statistics.median(times) * 1000
    return f"  {label:<28} n={len(times):<4} p50={p50:8.1f} ms  max={times[-1] * 1000:8.1f} ms  {statuses}"


def s3_settings(endpoint: str, bucket: str, mode: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "blob_url": f"s3://{bucket}/b", "s3_endpoint_url": endpoint, "s3_region": "us-east-1",
        "s3_access_key_id": "test", "s3_secret_access_key": "test",
    }  # fmt: skip
    if mode == "fast":
        base |= {"s3_read_timeout": 1.0, "s3_max_attempts": 1, "s3_pool_timeout": 0.5}
    return base


def bench_s3(root: Path, work: Path, mode: str) -> None:
    binary = weed_binary()
    if binary is None:
        print("s3: skipped (no weed binary)")
        return
    weed = SeaweedServer(binary, work / "weed")
    server = None
    try:
        weed.wait_ready()
        import boto3

        boto3.client("s3", endpoint_url=weed.endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                     region_name="us-east-1").create_bucket(Bucket="faults")  # fmt: skip
        server = start(root, work, "s3", s3_settings(weed.endpoint, "faults", mode))
        with httpx.Client(base_url=server.url, timeout=400) as http, ThreadPoolExecutor(46) as pool:
            artifact = new_artifact(http, "sbom")
            sbom = orjson.dumps(
                {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []}
            )
            assert http.put(f"/maestro/artifacts/{artifact}/content", content=sbom).status_code == 201
            spare = new_artifact(http, "sbom")
            print(f"s3 stall ({mode} settings, server from {root}):")
            for label, samples in probe(http, 2).items():
                print(figures(f"normal {label}", samples))
            weed.pause()
            try:
                started = time.perf_counter()
                path = f"/maestro/artifacts/{artifact}/content"
                downloads = [pool.submit(timed, http, "GET", path) for _ in range(45)]
                upload = pool.submit(
                    timed, http, "PUT", f"/maestro/artifacts/{spare}/content", content=sbom + b" "
                )
                for label, samples in probe(http, 15).items():
                    print(figures(f"stalled {label}", samples))
                print(
                    figures("stalled /readyz", [timed(http, "GET", "/readyz", timeout=200) for _ in range(3)])
                )
                print(figures("45 downloads", [f.result() for f in downloads]))
                print(figures("upload", [upload.result()]))
                print(f"  all answered after {time.perf_counter() - started:.1f} s")
            finally:
                weed.resume()
    finally:
        if server is not None:
            server.stop()
        weed.stop()


def new_artifact(http: httpx.Client, kind: str) -> str:
    run = http.post("/maestro/runs", json={"name": "bench", "owner": "bench"}).json()["id"]
    body = {"run_id": run, "kind": kind, "path_or_uri": f"bench://{kind}"}
    return str(http.post("/maestro/artifacts", json=body).json()["id"])


class Server:
    """``uvicorn maestro.app:app`` from ``root`` (this venv, that checkout's code) in its own session."""

    def __init__(self, root: Path, env: dict[str, str], log: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MAESTRO_")}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "maestro.app:app", "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
                cwd=root, env={**clean, **env, "PYTHONPATH": str(root)}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")

    def tree_rss(self) -> int:
        return tree_rss(self.process.pid)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start(root: Path, work: Path, name: str, settings: dict[str, Any]) -> Server:
    config = {"data_dir": work / name, "access_log": False, **settings}
    return Server(root, setting_env(config), work / f"{name}.log")


def sbom_zip(members: int, components: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for m in range(members):
            comps = [{"type": "library", "bom-ref": f"c{m}-{j}", "name": f"lib{j}", "version": f"1.{j % 97}",
                      "purl": f"pkg:pypi/lib{j}@1.{j % 97}", "licenses": [{"license": {"id": "MIT"}}]}
                     for j in range(components)]  # fmt: skip
            doc = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps}
            archive.writestr(f"sbom-{m}.json", orjson.dumps(doc))
    return buffer.getvalue()


def records_zip(members: int, records: int) -> bytes:
    """Large JSON documents that are not evidence: parse memory without an index to build."""
    rows = [{"id": i, "name": f"record-{i}", "tags": ["a", "b"]} for i in range(records)]
    doc = orjson.dumps({"records": rows})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for m in range(members):
            archive.writestr(f"data-{m}.json", doc)
    return buffer.getvalue()


def junit(cases: int) -> bytes:
    body = "".join(
        f'<testcase classname="pkg.mod{i % 100}.Test" name="test_{i}_with_a_longish_name" time="0.01">'
        f"<system-out>ok {i}</system-out></testcase>"
        for i in range(cases)
    )
    return f'<?xml version="1.0"?><testsuite name="s" tests="{cases}">{body}</testsuite>'.encode()


class Peak:
    def __init__(self, server: Server) -> None:
        self.server, self.peak, self._stop = server, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.tree_rss())
            self._stop.wait(0.02)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def put(http: httpx.Client, artifact: str, body: bytes) -> httpx.Response:
    return http.put(f"/maestro/artifacts/{artifact}/content", content=body)


def bench_parse(root: Path, work: Path) -> None:
    data_zip = records_zip(4, 300_000)
    cases: dict[str, tuple[bytes, int]] = {
        "zip 10 x 40k SBOMs": (sbom_zip(10, 40_000), 1),
        "zip 4 x 16 MB JSON": (data_zip, 1),
        "8 x that zip at once": (data_zip, 8),
        "JUnit 350k cases": (junit(350_000), 1),
    }
    print(f"parse memory (server process tree, PSS; server from {root}):")
    for label, (data, parallel) in cases.items():
        settings = {"max_upload_bytes": 512 * MiB, "parse_queue_timeout": 600}
        server = start(root, work, f"parse-{parallel}-{len(data)}", settings)
        try:
            with httpx.Client(base_url=server.url, timeout=600) as http, ThreadPoolExecutor(parallel) as pool:
                ids = [new_artifact(http, "other") for _ in range(parallel)]
                before = server.tree_rss()
                started = time.perf_counter()
                with Peak(server) as peak:
                    answers = list(pool.map(lambda i, body=data: put(http, i, body), ids))
                after = server.tree_rss()
            took = time.perf_counter() - started
            formats = {a.json()["evidence"]["format"] if a.is_success else a.status_code for a in answers}
            print(
                f"  {label:<24} {len(data) / 1e6:6.1f} MB  peak +{(peak.peak - before) / MiB:7.0f} MiB  "
                f"after +{(after - before) / MiB:6.0f} MiB  {took:6.1f} s  {formats}"
            )
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=BENCH.parent, help="checkout whose code the server runs")
    parser.add_argument("--only", default="s3,parse")
    parser.add_argument("--settings", choices=("defaults", "fast"), default="defaults")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maestro-faults-") as tmp:
        if "s3" in args.only:
            bench_s3(args.root.resolve(), Path(tmp), args.settings)
        if "parse" in args.only:
            bench_parse(args.root.resolve(), Path(tmp))


if __name__ == "__main__":
    main()
