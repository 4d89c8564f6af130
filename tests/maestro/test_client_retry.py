"""Which SDK calls are retried, how, and what the user sees when nothing answers.

The decisions are tested on a fake transport (``httpx.MockTransport``); the
property they exist for - a create whose answer was lost makes exactly one
resource - is tested against the real app and database."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from maestro.client import MaestroClient
from maestro.client.retry import MAX_DELAY, RetryPolicy, parse_retry_after
from maestro.errors import (
    Conflict,
    ContentCorrupt,
    DependencyUnavailable,
    MaestroError,
    NotFound,
    RunNotFound,
    TrustedKeyNotFound,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RUN = {"id": "r1", "name": "n", "owner": "o", "started_at": "2026-01-01T00:00:00Z", "status": "pending"}
Handler = Callable[[httpx.Request], httpx.Response]


class Fake:
    """A MockTransport server: answers from a script and remembers every request."""

    def __init__(self, *answers: httpx.Response | type[httpx.TransportError]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []
        self.delays: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.content)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, type):
            raise answer("simulated", request=request)
        return answer

    def client(self, retries: int = 3) -> MaestroClient:
        http = httpx.Client(base_url="http://maestro.test", transport=httpx.MockTransport(self))
        sdk = MaestroClient(http=http, retries=retries, backoff=0)
        sdk._transport.policy = replace(sdk._transport.policy, sleep=self.delays.append)
        return sdk


def ok(body: Any = RUN, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, code: str | None = None, **headers: str) -> httpx.Response:
    body = {"detail": f"status {status}", "error": code or "x"}
    return httpx.Response(status, json=body, headers={"x-request-id": "rid-1", **headers})


# ------------------------------------------------------------ what retries


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_retries_transient_statuses(status: int) -> None:
    fake = Fake(error(status), ok())
    assert fake.client().get_run("r1").id == "r1"
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError]
)
def test_get_retries_transport_failures(failure: type[httpx.TransportError]) -> None:
    fake = Fake(failure, ok())
    assert fake.client().get_run("r1").id == "r1"
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("status", "code", "raised"),
    [(500, "internal_error", MaestroError), (404, "run_not_found", RunNotFound), (409, "conflict", Conflict)],
)
def test_other_errors_are_not_retried(status: int, code: str, raised: type[MaestroError]) -> None:
    fake = Fake(error(status, code), ok())
    with pytest.raises(raised) as caught:
        fake.client().get_run("r1")
    assert type(caught.value) is raised
    assert (caught.value.status, caught.value.request_id) == (status, "rid-1")
    assert len(fake.requests) == 1


def test_gives_up_after_retries_with_the_last_error() -> None:
    fake = Fake(error(503, "dependency_unavailable"))
    with pytest.raises(DependencyUnavailable) as caught:
        fake.client(retries=2).get_run("r1")
    assert caught.value.request_id == "rid-1"
    assert len(fake.requests) == 3


def test_unreachable_server_is_dependency_unavailable() -> None:
    fake = Fake(httpx.ConnectError)
    with pytest.raises(
        DependencyUnavailable,
        match=r"cannot reach Maestro at http://maestro\.test after 4 attempts: ConnectError",
    ):
        fake.client().get_run("r1")
    assert len(fake.requests) == 4


def test_configuration_mistakes_are_not_retried() -> None:
    fake = Fake(httpx.UnsupportedProtocol)
    with pytest.raises(DependencyUnavailable, match="UnsupportedProtocol"):
        fake.client().get_run("r1")
    assert len(fake.requests) == 1


def test_creates_retry_with_one_idempotency_key() -> None:
    fake = Fake(httpx.ReadError, error(503), ok(status=201))
    assert fake.client().create_run(name="n", owner="o").id == "r1"
    keys = {request.headers["idempotency-key"] for request in fake.requests}
    assert len(fake.requests) == 3
    assert len(keys) == 1
    assert len(set(fake.bodies)) == 1
    second = Fake(ok(status=201))
    second.client().create_run(name="n", owner="o")
    assert second.requests[0].headers["idempotency-key"] not in keys  # one key per logical call


@pytest.mark.parametrize(
    "call",
    [
        lambda sdk: sdk.create_artifact(run_id="r", kind="other", path_or_uri="x"),
        lambda sdk: sdk.create_pack(run_id="r", summary="s"),
        lambda sdk: sdk.add_trusted_key("k", "pem"),
    ],
)
def test_every_create_carries_a_key(call: Callable[[MaestroClient], Any]) -> None:
    fake = Fake(httpx.ReadError, error(400))
    with pytest.raises(MaestroError):
        call(fake.client())
    assert len(fake.requests) == 2
    assert fake.requests[0].headers["idempotency-key"] == fake.requests[1].headers["idempotency-key"]


def test_repeated_create_waits_out_an_in_flight_conflict() -> None:
    fake = Fake(httpx.ReadTimeout, error(409, "conflict", **{"retry-after": "1"}), ok(status=201))
    assert fake.client().create_run(name="n", owner="o").id == "r1"
    assert len(fake.requests) == 3
    assert fake.delays[1] == 1.0


def test_patch_without_if_match_is_never_retried() -> None:
    fake = Fake(error(503), ok())
    with pytest.raises(DependencyUnavailable):
        fake.client().update_run("r1", name="x")
    lost = Fake(httpx.ReadError, ok())
    with pytest.raises(DependencyUnavailable, match="may or may not have been applied"):
        lost.client().finish_run("r1")
    started = Fake(httpx.ReadError, ok())
    with pytest.raises(DependencyUnavailable):
        started.client().start_run("r1")
    assert [len(f.requests) for f in (fake, lost, started)] == [1, 1, 1]


def test_patch_with_if_match_is_retried() -> None:
    fake = Fake(httpx.ReadError, ok())
    fake.client().update_run("r1", if_match='"v1"', name="x")
    assert len(fake.requests) == 2
    assert all(request.headers["if-match"] == '"v1"' for request in fake.requests)


def test_seekable_upload_is_rewound_and_retried() -> None:
    artifact = {
        "id": "a1",
        "run_id": "r1",
        "kind": "other",
        "path_or_uri": "x",
        "created_at": "2026-01-01T00:00:00Z",
        "metadata_json": {},
    }
    fake = Fake(httpx.WriteError, ok(artifact))
    source = io.BytesIO(b"skip:" + b"payload" * 1000)
    source.seek(5)
    fake.client().upload_content("a1", source, media_type="text/plain")
    assert fake.bodies == [b"payload" * 1000] * 2
    assert fake.requests[1].headers["content-length"] == "7000"
    assert fake.requests[1].headers["content-type"] == "text/plain"
    assert fake.requests[1].url.params["strict"] == "false"


class Pipe(io.RawIOBase):
    """A stream that cannot seek, like stdin."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.data.read(size)


def test_unseekable_upload_is_not_retried() -> None:
    fake = Fake(httpx.WriteError, ok())
    with pytest.raises(DependencyUnavailable):
        fake.client().upload_content("a1", Pipe(b"data"), strict=True)  # type: ignore[arg-type]
    assert len(fake.requests) == 1
    assert "content-length" not in fake.requests[0].headers  # size unknown: sent chunked


def test_delete_is_retried_and_a_later_404_means_done() -> None:
    fake = Fake(httpx.ReadError, error(404, "trusted_key_not_found"))
    fake.client().delete_trusted_key("k1")
    assert len(fake.requests) == 2
    first_try = Fake(error(404, "trusted_key_not_found"))
    with pytest.raises(TrustedKeyNotFound):
        first_try.client().delete_trusted_key("k1")


def test_health_returns_503_without_retrying() -> None:
    body = {"status": "unavailable", "detail": "db down", "error": "database_unavailable"}
    fake = Fake(ok(body, status=503))
    assert fake.client().health() == body
    assert len(fake.requests) == 1


def test_non_json_error_body_maps_by_status() -> None:
    fake = Fake(httpx.Response(404, text="<html>nginx</html>"))
    with pytest.raises(NotFound) as caught:
        fake.client().get_run("r1")
    assert caught.value.detail == "HTTP 404"
    proxy = Fake(httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(MaestroError) as failed:
        proxy.client(retries=1).get_run("r1")
    assert failed.value.status == 502
    assert len(proxy.requests) == 2


def test_invalid_success_body_is_a_maestro_error() -> None:
    fake = Fake(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(MaestroError, match="not a valid Run"):
        fake.client().get_run("r1")


def test_token_is_sent_as_bearer() -> None:
    fake = Fake(ok())
    http = httpx.Client(base_url="http://maestro.test", transport=httpx.MockTransport(fake))
    MaestroClient(http=http, token="s3cret").get_run("r1")
    assert fake.requests[0].headers["authorization"] == "Bearer s3cret"
    assert fake.requests[0].headers["user-agent"].startswith("maestro-sdk")


# ------------------------------------------------------------- how long


def test_backoff_doubles_with_jitter_in_the_upper_half() -> None:
    low = RetryPolicy(backoff=0.5, jitter=lambda: 0.0)
    high = RetryPolicy(backoff=0.5, jitter=lambda: 1.0)
    assert [low.delay(n) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    assert [high.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert high.delay(30) == MAX_DELAY


def test_retry_after_wins_when_longer() -> None:
    policy = RetryPolicy(backoff=0.5, jitter=lambda: 1.0)
    assert policy.delay(1, retry_after=7) == 7
    assert policy.delay(3, retry_after=0) == 2.0
    assert policy.delay(1, retry_after=3600) == MAX_DELAY


def test_parse_retry_after() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=30), usegmt=True), now=NOW) == 30.0
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=30), usegmt=True), now=NOW) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retry_after_header_is_used() -> None:
    fake = Fake(error(429, "too_many_requests", **{"retry-after": "4"}), ok())
    fake.client().get_run("r1")
    assert fake.delays == [4.0]


def test_backoff_zero_never_waits() -> None:
    fake = Fake(error(503), error(503), ok())
    fake.client().get_run("r1")
    assert fake.delays == [0.0, 0.0]


# ------------------------------------------ a lost answer, against the real app


class LoseFirstAnswer(httpx.BaseTransport):
    """Lets the request reach the app, then loses its answer once, as a dropped
    connection would: the server did the work but the client never heard."""

    def __init__(self, inner: httpx.BaseTransport, method: str) -> None:
        self.inner = inner
        self.method = method
        self.lost = 0
        self.replayed: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == self.method:
            response.read()
            self.replayed.append(response.headers.get("idempotent-replayed"))
            if self.lost == 0:
                self.lost += 1
                raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response


@pytest.fixture
def lossy(client: TestClient) -> Iterator[Callable[[str], tuple[MaestroClient, LoseFirstAnswer]]]:
    opened: list[httpx.Client] = []

    def make(method: str) -> tuple[MaestroClient, LoseFirstAnswer]:
        transport = LoseFirstAnswer(client._transport, method)
        http = httpx.Client(base_url=client.base_url, transport=transport)
        opened.append(http)
        return MaestroClient(http=http, backoff=0), transport

    yield make
    for http in opened:
        http.close()


def test_create_with_a_lost_answer_makes_one_run(client: TestClient, lossy: Any) -> None:
    sdk, transport = lossy("POST")
    run = sdk.create_run(name="once", owner="o")
    assert transport.lost == 1
    assert transport.replayed == [None, "true"]
    runs = client.get("/maestro/runs").json()
    assert [r["id"] for r in runs] == [run.id]


def test_create_artifact_and_pack_with_a_lost_answer_make_one_each(client: TestClient, lossy: Any) -> None:
    run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
    sdk, _ = lossy("POST")
    artifact = sdk.create_artifact(run_id=run_id, kind="other", path_or_uri="x")
    sdk, _ = lossy("POST")
    pack = sdk.create_pack(run_id=run_id, summary="s")
    assert [a["id"] for a in client.get("/maestro/artifacts").json()] == [artifact.id]
    assert [p["id"] for p in client.get("/maestro/disclosure-packs").json()] == [pack.id]
    assert pack.artifact_ids == [artifact.id]


def test_upload_with_a_lost_answer_is_repeated_harmlessly(client: TestClient, lossy: Any) -> None:
    run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
    artifact_id = client.post(
        "/maestro/artifacts", json={"run_id": run_id, "kind": "build_log", "path_or_uri": "x"}
    ).json()["id"]
    sdk, transport = lossy("PUT")
    artifact = sdk.upload_content(artifact_id, io.BytesIO(b"line 1\nline 2\n"))
    assert transport.lost == 1
    assert artifact.content is not None
    assert artifact.content.size == 14


def test_patch_with_a_lost_answer_is_reported_not_repeated(client: TestClient, lossy: Any) -> None:
    run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o", "metadata": {"n": 1}}).json()["id"]
    sdk, _ = lossy("PATCH")
    with pytest.raises(DependencyUnavailable, match="may or may not"):
        sdk.update_run(run_id, name="renamed")
    assert client.get(f"/maestro/runs/{run_id}").json()["name"] == "renamed"  # it was applied, once


def test_a_replayed_conflict_is_final() -> None:
    fake = Fake(httpx.ReadError, error(409, "conflict", **{"idempotent-replayed": "true"}), ok(status=201))
    with pytest.raises(Conflict):
        fake.client().add_trusted_key("k", "pem")
    assert len(fake.requests) == 2


def test_negative_retries_mean_one_attempt() -> None:
    fake = Fake(error(503))
    with pytest.raises(DependencyUnavailable):
        fake.client(retries=-1).get_run("r1")
    assert len(fake.requests) == 1


def test_download_mismatch_is_content_corrupt_and_leaves_no_file(tmp_path: Path) -> None:
    fake = Fake(httpx.Response(200, content=b"tampered", headers={"etag": f'"sha256:{"0" * 64}"'}))
    dest = tmp_path / "out.bin"
    with pytest.raises(ContentCorrupt, match="hash to sha256:"):
        fake.client().download_content("a1", dest)
    assert list(tmp_path.iterdir()) == []
    unlabelled = Fake(httpx.Response(200, content=b"data"))
    with pytest.raises(MaestroError, match="no sha256 ETag"):
        unlabelled.client().download_content("a1", io.BytesIO())


def test_run_context_keeps_the_blocks_exception_when_finishing_fails() -> None:
    fake = Fake(ok({**RUN, "status": "running"}, status=201), error(503, "dependency_unavailable"))
    with pytest.raises(RuntimeError, match="boom") as caught, fake.client().run("n", owner="o"):
        raise RuntimeError("boom")
    assert any("could not mark run r1 failed" in note for note in caught.value.__notes__)
    assert [r.method for r in fake.requests] == ["POST", "PATCH"]
    assert json.loads(fake.bodies[1]) == {
        "status": "failed",
        "metadata": {"error": {"type": "RuntimeError", "message": "boom"}},
    }


def test_a_refused_connection_is_known_not_applied() -> None:
    fake = Fake(httpx.ConnectError)
    with pytest.raises(DependencyUnavailable) as caught:
        fake.client().update_run("r1", name="x")
    assert "may or may not" not in caught.value.detail
    assert len(fake.requests) == 1
