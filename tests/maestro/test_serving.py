"""What one client may send a real server (``maestro.serving``): heads, timeouts,
connections, disconnects and bugs, each against uvicorn in a subprocess."""

from __future__ import annotations

import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.maestro.faulty_app import SECRET
from tests.maestro.live_server import LiveServer, live_server, read_response

TIMEOUTS = {"MAESTRO_HEADER_TIMEOUT": "1", "MAESTRO_BODY_TIMEOUT": "1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for this module: Maestro's app plus bug routes, with 1 s timeouts."""
    with live_server(
        tmp_path_factory.mktemp("serving"), TIMEOUTS, factory="tests.maestro.faulty_app:create"
    ) as live:
        yield live


def _lines_for(server: LiveServer, request_id: str) -> list[dict[str, object]]:
    return [line for line in server.log_lines() if line.get("request_id") == request_id]


def _latency(server: LiveServer) -> float:
    started = time.perf_counter()
    assert httpx.get(f"{server.base_url}/healthz", timeout=30).status_code == 200
    return time.perf_counter() - started


def test_a_64_mib_header_is_refused_without_slowing_another_client(server: LiveServer) -> None:
    sock = server.connect()
    sent: list[BaseException | None] = []

    def send_big_head() -> None:
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 * 1024 * 1024))
            sent.append(None)
        except OSError as exc:  # the server may close before all of it is sent: also a refusal
            sent.append(exc)

    sender = threading.Thread(target=send_big_head)
    sender.start()
    latencies = [_latency(server) for _ in range(5)]
    status, headers, body = read_response(sock)
    sender.join(timeout=30)
    sock.close()
    latencies += [_latency(server) for _ in range(3)]
    assert status == 431
    assert headers["connection"] == "close"
    assert len(headers["x-request-id"]) == 32
    assert b"request_header_fields_too_large" in body
    assert max(latencies) < 1.0, latencies  # unbounded, one such header froze the loop for 7 s
    assert sent, "the sender is still blocked: the server neither read nor closed"


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /healthz?" + b"q" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    ],
    ids=["url", "header-count", "header-bytes-one-read", "malformed"],
)
def test_heads_past_a_limit_get_a_json_error(server: LiveServer, request_head: bytes, status: int) -> None:
    with server.connect() as sock:
        sock.sendall(request_head)
        got, headers, body = read_response(sock)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert b'"detail"' in body
    assert headers["x-request-id"]


def test_heads_within_the_limits_are_served(server: LiveServer) -> None:
    headers = {f"X-{i}": "v" * 500 for i in range(90)}  # 90 fields, ~45 KiB
    response = httpx.get(f"{server.base_url}/healthz?" + "q" * 7000, headers=headers, timeout=10)
    assert response.status_code == 200


def test_slowloris_is_cut_off_after_the_header_timeout(server: LiveServer) -> None:
    with server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for _ in range(20):  # one header byte every 0.2 s would take 4 s
            try:
                sock.sendall(b"X")
            except OSError:
                break
            time.sleep(0.2)
            if time.monotonic() - started > 1.5:
                break
        status, headers, body = read_response(sock)
        elapsed = time.monotonic() - started
    assert status == 408
    assert b"request_timeout" in body
    assert headers["connection"] == "close"
    assert 0.9 < elapsed < 3.0


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server: LiveServer) -> None:
    with server.connect() as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert 0.9 < time.monotonic() - started < 3.0


def test_a_stalled_body_is_cut_off_and_logged_as_a_client_disconnect(server: LiveServer) -> None:
    with server.connect() as sock:
        sock.sendall(
            b"POST /maestro/runs HTTP/1.1\r\nHost: x\r\nX-Request-ID: stalled-body\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name": '
        )
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(65536) == b""  # closed, no answer: the client is the one who stopped
        assert time.monotonic() - started < 3.0
    lines = _wait_for_lines(server, "stalled-body", 2)
    assert [line["msg"] for line in lines] == ["request body stalled; connection closed", "request"]
    assert lines[1]["status"] == 499
    assert all("exc" not in line and line["level"] != "error" for line in lines)


def _wait_for_lines(server: LiveServer, request_id: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = _lines_for(server, request_id)
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return _lines_for(server, request_id)


@pytest.mark.parametrize("form", ["put-content", "multipart-create"])
def test_a_client_that_disconnects_mid_upload_is_logged_as_499_without_traceback(
    server: LiveServer, form: str
) -> None:
    run = httpx.post(f"{server.base_url}/maestro/runs", json={"name": "n", "owner": "o"}).json()
    artifact = httpx.post(
        f"{server.base_url}/maestro/artifacts",
        json={"run_id": run["id"], "kind": "other", "path_or_uri": "file:///x"},
    ).json()
    request_id = f"gone-mid-upload-{form}"
    if form == "put-content":
        head = f"PUT /maestro/artifacts/{artifact['id']}/content HTTP/1.1\r\nContent-Length: 10485760\r\n"
        start = b""
    else:
        head = (
            "POST /maestro/artifacts HTTP/1.1\r\nContent-Length: 10485760\r\n"
            "Content-Type: multipart/form-data; boundary=b0undary\r\n"
        )
        start = (
            b'--b0undary\r\nContent-Disposition: form-data; name="artifact"\r\n\r\n'
            + f'{{"run_id": "{run["id"]}", "kind": "other", "path_or_uri": "file:///y"}}'.encode()
            + b'\r\n--b0undary\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
        )
    with server.connect() as sock:
        sock.sendall(f"{head}Host: x\r\nX-Request-ID: {request_id}\r\n\r\n".encode() + start)
        sock.sendall(b"\0" * 1024 * 1024)
        time.sleep(0.2)
    lines = _wait_for_lines(server, request_id, 1)
    assert [(line["msg"], line["status"]) for line in lines] == [("request", 499)]
    assert "Traceback" not in server.log_text()
    assert httpx.get(f"{server.base_url}/maestro/artifacts/{artifact['id']}").json()["content"] is None
    assert len(httpx.get(f"{server.base_url}/maestro/artifacts?run_id={run['id']}").json()) == 1


def test_a_bug_is_a_json_500_with_the_request_id_and_a_clean_close(server: LiveServer) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /test/bug HTTP/1.1\r\nHost: x\r\nX-Request-ID: bug-1\r\n\r\n")
        status, headers, body = read_response(sock)
        assert sock.recv(1) == b""  # the server closes after the answer, as it said
    assert status == 500
    assert headers["x-request-id"] == "bug-1"
    assert headers["connection"] == "close"
    assert body == b'{"detail":"Internal server error","error":"internal_error"}'
    lines = _wait_for_lines(server, "bug-1", 2)
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1
    assert "RuntimeError: injected bug" in str(errors[0]["exc"])
    assert [line["status"] for line in lines if line["msg"] == "request"] == [500]
    assert "Exception in ASGI application" not in server.log_text()


def test_a_failing_statement_is_logged_without_its_parameters(server: LiveServer) -> None:
    response = httpx.post(f"{server.base_url}/test/sql-bug", headers={"X-Request-ID": "sql-bug"})
    assert response.status_code == 500
    errors = [line for line in _wait_for_lines(server, "sql-bug", 2) if line["level"] == "error"]
    assert "IntegrityError" in str(errors[0]["exc"])
    assert "INSERT INTO runs (id)" in str(errors[0]["exc"])
    assert SECRET not in server.log_text()


@pytest.fixture
def many_files() -> Iterator[None]:
    """This process holds 1,100+ sockets: raise its own descriptor limit if it must."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1400
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.usefixtures("many_files")
def test_1100_idle_connections_do_not_lock_out_a_new_client(tmp_path: Path) -> None:
    idle: list[socket.socket] = []
    with live_server(tmp_path, {"MAESTRO_HEADER_TIMEOUT": "60"}, nofile=1024) as server:
        try:
            for _ in range(1100):
                idle.append(server.connect(timeout=5))
            started = time.monotonic()
            response = httpx.get(f"{server.base_url}/healthz", timeout=5)
            assert response.status_code == 200
            assert time.monotonic() - started < 2.0
            assert httpx.get(f"{server.base_url}/maestro/runs", timeout=5).status_code == 200
        finally:
            for sock in idle:
                sock.close()
        assert "Too many open files" not in server.log_text()
