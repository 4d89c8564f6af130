"""A stalled dependency slows only the requests that need it.

S3 is the real SeaweedFS, paused with SIGSTOP (it keeps its sockets and answers
nothing); IntelGraph is a socket that accepts connections into its backlog and
never answers. Latency under concurrency is measured against a real uvicorn
server in a subprocess: TestClient runs requests one at a time.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maestro.app import create_app
from maestro.bulkhead import Lane
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.errors import Overloaded
from tests.maestro.evidence import builders
from tests.maestro.seaweed import SeaweedServer
from tests.maestro.serving_helpers import live_fixture  # noqa: F401 - the live fixture

SBOM = builders.dumps(builders.cyclonedx(3))
# Short enough for the suite: every S3 call gives up after about 1 s.
FAST_S3 = {
    "s3_connect_timeout": 0.5,
    "s3_read_timeout": 1.0,
    "s3_max_attempts": 1,
    "s3_max_concurrency": 4,
    "s3_pool_timeout": 0.5,
}
S3_BUDGET = 0.5 + 1.0 + 0.5  # pool wait + one attempt (connect is instant: the kernel accepts)
SLACK = 1.5  # two shared cores: scheduling, thread start, a GC pause


@pytest.fixture
def s3_settings(seaweed: str) -> dict[str, Any]:
    bucket = f"maestro-{uuid.uuid4().hex[:12]}"
    import boto3

    boto3.client(
        "s3", endpoint_url=seaweed, aws_access_key_id="test", aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)  # fmt: skip
    return {
        "blob_url": f"s3://{bucket}/blobs",
        "s3_endpoint_url": seaweed,
        "s3_region": "us-east-1",
        "s3_access_key_id": "test",
        "s3_secret_access_key": SecretStr("test"),
        **FAST_S3,
    }


@pytest.fixture
def s3_client(
    settings: Settings, maestro_store: Database, s3_settings: dict[str, Any]
) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update=s3_settings), database=maestro_store)) as client:
        yield client


def _artifact(http: httpx.Client | TestClient) -> str:
    run = http.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
    body = {"run_id": run, "kind": "sbom", "path_or_uri": "s3://x/sbom"}
    return str(http.post("/maestro/artifacts", json=body).json()["id"])


def _timed(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = http.request(method, path, **kwargs)
    return time.perf_counter() - started, response


def _probe(http: httpx.Client, until: float) -> list[float]:
    """Latencies of /healthz and a database-only list, alternately, until ``until``."""
    latencies = []
    while time.monotonic() < until:
        for path in ("/healthz", "/maestro/runs?limit=5"):
            elapsed, response = _timed(http, "GET", path)
            assert response.status_code == 200, response.text
            latencies.append(elapsed)
    return latencies


def test_paused_s3_leaves_healthz_and_lists_at_their_latency(
    live: Any, s3_settings: dict[str, Any], seaweed_server: SeaweedServer
) -> None:
    server = live(**s3_settings)
    with httpx.Client(base_url=server.base_url, timeout=30) as http, ThreadPoolExecutor(45) as pool:
        artifact = _artifact(http)
        put = http.put(f"/maestro/artifacts/{artifact}/content", content=SBOM)
        assert put.status_code == 201, put.text
        normal = _probe(http, time.monotonic() + 0.5)
        path = f"/maestro/artifacts/{artifact}/content"
        with seaweed_server.paused():
            downloads = [pool.submit(_timed, http, "GET", path) for _ in range(45)]
            stalled = _probe(http, time.monotonic() + S3_BUDGET)
            answers = [future.result() for future in downloads]
        assert http.get(path).content == SBOM  # S3 back: so is content
    assert {response.status_code for _, response in answers} == {503}
    assert all(response.headers["retry-after"].isdigit() for _, response in answers)
    assert {response.json()["error"] for _, response in answers} == {"dependency_unavailable"}
    assert max(elapsed for elapsed, _ in answers) < S3_BUDGET + SLACK
    # Before the bulkheads these timed out: 45 downloads held all 40 shared worker threads.
    assert max(stalled) < 1.0, (statistics.median(normal), max(stalled))
    assert statistics.median(stalled) < max(0.2, 10 * statistics.median(normal))


def test_upload_while_s3_is_paused_is_503_and_keeps_nothing(
    s3_client: TestClient, seaweed_server: SeaweedServer
) -> None:
    artifact = _artifact(s3_client)
    with seaweed_server.paused():
        started = time.monotonic()
        response = s3_client.put(f"/maestro/artifacts/{artifact}/content", content=SBOM)
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "dependency_unavailable"
    assert "blob store s3://" in response.json()["detail"]
    assert int(response.headers["retry-after"]) > 0
    assert elapsed < S3_BUDGET + SLACK
    assert s3_client.get(f"/maestro/artifacts/{artifact}").json()["content"] is None
    assert s3_client.put(f"/maestro/artifacts/{artifact}/content", content=SBOM).status_code == 201


def test_readyz_answers_within_2s_and_names_the_stalled_store(
    s3_client: TestClient, seaweed_server: SeaweedServer
) -> None:
    assert s3_client.get("/readyz").json()["checks"]["blobs"]["status"] == "ok"
    with seaweed_server.paused():
        timings = []
        for _ in range(3):  # later probes reuse the stuck check rather than piling up threads
            started = time.monotonic()
            response = s3_client.get("/readyz")
            timings.append(time.monotonic() - started)
            assert response.status_code == 503
            body = response.json()
            assert body["error"] == "blob_store_unavailable"
            assert body["checks"]["blobs"]["status"] in ("timeout", "unavailable")
            assert body["checks"]["database"]["status"] == "ok"
            assert body["checks"]["schema"]["status"] == "ok"
    assert max(timings) < 2.0
    deadline = time.monotonic() + 10
    while s3_client.get("/readyz").status_code != 200:  # the stuck check gives up, then S3 answers
        assert time.monotonic() < deadline
        time.sleep(0.2)


@pytest.fixture
def silent_intelgraph() -> Iterator[str]:
    """A socket that completes TCP handshakes (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api"


FAST_INTELGRAPH = {
    "intelgraph_timeout": 1.0,
    "intelgraph_connect_timeout": 0.5,
    "intelgraph_retries": 0,
    "intelgraph_max_concurrency": 4,
    "intelgraph_pool_timeout": 0.5,
}
INTELGRAPH_BUDGET = 0.5 + 0.5 + 1.0


def test_stalled_intelgraph_is_503_within_its_budget_and_lists_keep_latency(
    live: Any, silent_intelgraph: str
) -> None:
    server = live(intelgraph_url=silent_intelgraph, **FAST_INTELGRAPH)
    body = {"name": "n", "owner": "o", "related_entity_ids": ["entity-1"]}
    with httpx.Client(base_url=server.base_url, timeout=30) as http, ThreadPoolExecutor(50) as pool:
        normal = _probe(http, time.monotonic() + 0.5)
        creates = [pool.submit(_timed, http, "POST", "/maestro/runs", json=body) for _ in range(50)]
        stalled = _probe(http, time.monotonic() + INTELGRAPH_BUDGET)
        answers = [future.result() for future in creates]
        assert http.get("/maestro/runs").json() == []  # nothing was written
    assert {response.status_code for _, response in answers} == {503}
    assert all(response.headers["retry-after"].isdigit() for _, response in answers)
    assert max(elapsed for elapsed, _ in answers) < INTELGRAPH_BUDGET + SLACK
    assert max(stalled) < 1.0, (statistics.median(normal), max(stalled))


def test_readyz_reports_a_stalled_intelgraph_without_failing(
    settings: Settings, maestro_store: Database, silent_intelgraph: str
) -> None:
    configured = settings.model_copy(update={"intelgraph_url": silent_intelgraph, **FAST_INTELGRAPH})
    with TestClient(create_app(configured, database=maestro_store)) as client:
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < 2.0
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["intelgraph"]["status"] in ("timeout", "unavailable")
    assert body["checks"]["database"]["status"] == "ok"


def test_a_full_lane_refuses_after_its_wait_and_leaves_the_default_threads_alone() -> None:
    release = threading.Event()
    lane = Lane("test", size=2, wait=0.2, busy=lambda: Overloaded("lane full"))

    async def scenario() -> tuple[int, float, BaseException | None]:
        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(lane.run, release.wait, 10)
            await anyio.sleep(0.1)
            default = anyio.to_thread.current_default_thread_limiter().borrowed_tokens
            started = time.monotonic()
            refused: BaseException | None = None
            try:
                await lane.run(release.wait, 10)
            except Overloaded as exc:
                refused = exc
            waited = time.monotonic() - started
            release.set()
        return int(default), waited, refused

    default, waited, refused = anyio.run(scenario)
    assert default == 0  # two threads blocked in the lane hold none of the shared tokens
    assert isinstance(refused, Overloaded)
    assert 0.15 < waited < 1.0


def test_an_s3_that_refuses_is_503_not_500(
    settings: Settings, maestro_store: Database, s3_settings: dict[str, Any]
) -> None:
    broken = settings.model_copy(update={**s3_settings, "blob_url": "s3://no-such-bucket-here/x"})
    with TestClient(create_app(broken, database=maestro_store)) as client:
        artifact = _artifact(client)
        response = client.put(f"/maestro/artifacts/{artifact}/content", content=SBOM)
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "dependency_unavailable"
        assert response.headers["retry-after"] == "5"
        assert client.get(f"/maestro/artifacts/{artifact}").json()["content"] is None
