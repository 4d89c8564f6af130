"""``maestro server`` and ``make maestro-api`` on a port that is taken: fail at once, touch nothing.

Before, the server migrated the database and only then found the port busy,
ending in a uvicorn traceback. The check runs before any setting is read.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro.cli.server import PortUnavailable, ensure_port_free
from tests.maestro.live_server import free_port
from tests.maestro.test_cli_support import MAESTRO, clean_environment

ROOT = Path(__file__).resolve().parents[2]
FAST = 20  # seconds; the refusal itself takes well under one, most of this is interpreter start-up


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port with a listening socket on all interfaces, as another server would hold it."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run(command: list[str], data_dir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = clean_environment(MAESTRO_DATA_DIR=str(data_dir))
    started = time.monotonic()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=FAST * 3)
    return completed, time.monotonic() - started


def test_server_on_a_busy_port_fails_before_the_database(busy_port: int, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    completed, seconds = run([*MAESTRO, "server", "--port", str(busy_port)], data_dir)
    assert completed.returncode == 2
    assert seconds < FAST
    (line,) = completed.stderr.strip().splitlines()
    assert line.startswith(f"error: port {busy_port} on 127.0.0.1 is already in use")
    assert "PORT=" in line
    assert "--port" in line
    assert not data_dir.exists(), "the database was touched"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_maestro_api_on_a_busy_port_fails_before_the_database(busy_port: int, tmp_path: Path) -> None:
    """The Makefile target itself, with this interpreter's environment (``-o``: do not reinstall)."""
    venv = Path(sys.prefix)
    if not (venv / "bin" / "maestro").exists():
        pytest.skip("the maestro console script is not installed in this environment")
    data_dir = tmp_path / "data"
    command = ["make", "-s", "-C", str(ROOT), f"VENV={venv}", "-o", f"{venv}/.installed"]
    completed, seconds = run([*command, "maestro-api", f"PORT={busy_port}"], data_dir)
    assert completed.returncode != 0
    assert seconds < FAST
    assert f"port {busy_port} on 0.0.0.0 is already in use" in completed.stderr
    assert "make maestro-api PORT=N" in completed.stderr
    assert not data_dir.exists(), "the database was touched"


def test_a_free_port_passes_and_stays_free() -> None:
    port = free_port()
    ensure_port_free("127.0.0.1", port)
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # the probe let go of it


def test_an_unknown_host_is_explained() -> None:
    with pytest.raises(PortUnavailable, match=r"cannot bind no-such-host\.invalid:8001: .*; check --host"):
        ensure_port_free("no-such-host.invalid", 8001)
