"""A real ``maestro server`` on a free loopback port, for tests that need the stack over HTTP.

The CLI and SDK tests mostly run in-process (``test_cli_support.wire``); the few
that must see a separate process — what a command imports, a docs example run
verbatim with ``MAESTRO_URL`` — start one of these. SQLite in a temporary
directory, local blobs; nothing from the developer's ``MAESTRO_*`` environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP_SECONDS = 60
# The console script's code, so the server is the installed command without relying on PATH.
MAESTRO = [sys.executable, "-c", "from maestro.cli import main; main()"]


def free_port() -> int:
    """A loopback port nothing listens on now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(**extra: str) -> dict[str, str]:
    """The current environment without any ``MAESTRO_*`` variable, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("MAESTRO_")}
    return env | extra


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"maestro server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"maestro server did not answer within {STARTUP_SECONDS}s:\n{log.read_text()}")


@contextmanager
def live_server(data_dir: Path) -> Iterator[str]:
    """Serve a fresh database under ``data_dir``; yields the base URL and stops the server after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    env = clean_environment(MAESTRO_DATA_DIR=str(data_dir / "data"), MAESTRO_ACCESS_LOG="false")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*MAESTRO, "server", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
