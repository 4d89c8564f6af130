"""A real Maestro server in a subprocess on a free port: for what only a real HTTP
server shows (limits on heads and connections, timeouts, disconnects, connection
handling), with its JSON log lines readable by the test."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
_RUN = (
    "import sys; from maestro.serving import run; "
    "run(sys.argv[1], host=sys.argv[2], port=int(sys.argv[3]), factory=True)"
)


@dataclass
class LiveServer:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((HOST, self.port), timeout=timeout)

    def log_lines(self) -> list[dict[str, Any]]:
        """The server's JSON log lines so far (plain-text lines, e.g. the supervisor's, skipped)."""
        lines = []
        for text in self.log_path.read_text(errors="replace").splitlines():
            if text.startswith("{"):
                lines.append(json.loads(text))
        return lines

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _limit_files(nofile: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))


@contextmanager
def live_server(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    *,
    factory: str | None = None,
    nofile: int | None = None,
    args: Sequence[str] = (),
) -> Iterator[LiveServer]:
    """``maestro server`` (or, with ``factory``, that app factory under the same
    serving options) on a free port, with a fresh SQLite database unless ``env``
    names another; stopped, and its process group killed, on exit. ``args`` are
    more options for ``maestro server`` (``--workers 2``)."""
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    full_env = {**os.environ, "MAESTRO_DATA_DIR": str(tmp_path / "data"), **(env or {})}
    if factory is None:
        maestro = str(Path(sys.executable).with_name("maestro"))
        argv = [maestro, "server", "--host", HOST, "--port", str(port), *args]
    else:
        argv = [sys.executable, "-c", _RUN, factory, HOST, str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: _limit_files(nofile)) if nofile else None,
        )
    server = LiveServer(port, process, log_path)
    try:
        _wait_ready(server)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer within {timeout} s:\n{server.log_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


def read_response(sock: socket.socket, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body up to the server's close (or Content-Length)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body
