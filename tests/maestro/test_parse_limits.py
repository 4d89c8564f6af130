"""Parsing has a memory budget the kernel enforces, a time limit and a concurrency limit.

The memory figures come from a real server in a subprocess (the parse workers
are forked processes, so only the whole process tree tells the truth).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from maestro.app import create_app
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.evidence.model import ParseOptions
from maestro.services.parsing import ParseBudget, Parser
from tests.maestro.evidence import builders
from tests.maestro.live_server import LiveServer
from tests.maestro.serving_helpers import live_fixture, tree_rss  # noqa: F401 - live_fixture: the live fixture

MiB = 1024**2


def data_archive(members: int, records: int) -> bytes:
    """A zip of large JSON documents that are not evidence: parsing costs memory (the
    whole document tree), the result is small (no components to index)."""
    doc = orjson.dumps(
        {"records": [{"id": i, "name": f"record-{i}", "tags": ["a", "b"]} for i in range(records)]}
    )
    return builders.zip_of({f"data-{i}.json": doc for i in range(members)})


@pytest.fixture(scope="module")
def medium_zip() -> bytes:
    return data_archive(2, 150_000)  # 1.5 MB; about 100 MiB to parse in one process


def _artifacts(http: httpx.Client, count: int) -> list[str]:
    run = http.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
    body = {"run_id": run, "kind": "other", "path_or_uri": "s3://x/bundle.zip"}
    return [http.post("/maestro/artifacts", json=body).json()["id"] for _ in range(count)]


class PeakRss:
    """Samples a server's process-tree RSS every 20 ms while the block runs."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.server.process.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_eight_concurrent_archive_parses_stay_within_the_budget(live: Any, medium_zip: bytes) -> None:
    budget = 192 * MiB
    server = live(max_parse_memory=budget, max_concurrent_parses=2, parse_queue_timeout=60)
    with httpx.Client(base_url=server.base_url, timeout=120) as http, ThreadPoolExecutor(8) as pool:
        ids = _artifacts(http, 8)
        baseline = tree_rss(server.process.pid)
        with PeakRss(server) as rss:
            put = lambda i: http.put(f"/maestro/artifacts/{i}/content", content=medium_zip)  # noqa: E731
            answers = list(pool.map(put, ids))
    assert [a.status_code for a in answers] == [201] * 8, answers[0].text
    assert {a.json()["evidence"]["format"] for a in answers} == {"zip"}
    assert all(a.json()["evidence"]["valid"] for a in answers)
    # In one process these eight parses cost some 8 x 100 MiB. Now: two workers at most,
    # each capped by the kernel; the server itself holds only their (small) results.
    assert rss.peak - baseline < 2 * budget, (baseline // MiB, rss.peak // MiB)


def test_a_parse_over_the_memory_budget_is_stored_unparsed(
    settings: Settings, maestro_store: Database
) -> None:
    big = data_archive(3, 200_000)
    configured = settings.model_copy(update={"max_parse_memory": 64 * MiB})
    with TestClient(create_app(configured, database=maestro_store)) as client:
        run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
        body = {"run_id": run, "kind": "other", "path_or_uri": "s3://x/bundle.zip"}
        artifact = client.post("/maestro/artifacts", json=body).json()["id"]
        response = client.put(f"/maestro/artifacts/{artifact}/content", content=big)
        assert response.status_code == 201, response.text
        evidence = response.json()["evidence"]
        assert evidence["format"] == "unparsed"
        assert evidence["errors"][0]["message"] == (
            f"parsing needed more than the {64 * MiB}-byte memory budget; stored but not parsed"
        )
        assert client.get(f"/maestro/artifacts/{artifact}/content").content == big


def test_excess_parses_wait_then_get_503_with_retry_after(live: Any) -> None:
    slow = data_archive(3, 200_000)  # about a second of parsing
    server = live(max_concurrent_parses=1, parse_queue_timeout=0.3)
    with httpx.Client(base_url=server.base_url, timeout=120) as http, ThreadPoolExecutor(3) as pool:
        ids = _artifacts(http, 3)
        answers = list(pool.map(lambda i: http.put(f"/maestro/artifacts/{i}/content", content=slow), ids))
        codes = sorted(a.status_code for a in answers)
        refused = [a for a in answers if a.status_code == 503]
        assert codes[0] == 201, codes
        assert len(refused) >= 1, codes
        assert all(a.json()["error"] == "overloaded" and a.headers["retry-after"].isdigit() for a in refused)
        for answer, artifact in zip(answers, ids, strict=True):  # a refused upload kept nothing
            if answer.status_code == 503:
                assert http.get(f"/maestro/artifacts/{artifact}").json()["content"] is None


def test_a_parse_past_its_time_limit_is_stopped(tmp_path: Path) -> None:
    slow = tmp_path / "slow.zip"
    slow.write_bytes(data_archive(3, 200_000))
    parser = Parser(ParseBudget(timeout=0.2))
    started = time.monotonic()
    parsed = parser.parse(slow, slow.stat().st_size, ParseOptions(), "other")
    assert time.monotonic() - started < 2.0
    assert parsed.evidence.format == "unparsed"
    assert parsed.evidence.errors[0].message == "parsing took longer than 0.2 s; stored but not parsed"


def test_the_worker_returns_what_an_in_process_parse_would(tmp_path: Path, medium_zip: bytes) -> None:
    from maestro.evidence.registry import parse_evidence

    path = tmp_path / "bundle.zip"
    path.write_bytes(medium_zip)
    parsed = Parser(ParseBudget()).parse(path, len(medium_zip), ParseOptions(), "other")
    direct = parse_evidence(medium_zip, ParseOptions(), declared_kind="other")
    assert parsed.evidence == direct.evidence
    assert parsed.components == direct.components
