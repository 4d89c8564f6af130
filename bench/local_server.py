"""A Maestro server and a scratch database for the single-purpose benches (evidence,
pack export, dry-run, SBOM diff): one place that starts uvicorn, waits for readiness,
reads the server's memory and CPU, and stops it as a process group.

``bench/run.py`` and ``bench/trust.py`` launch servers through ``procs``/``servers``
instead: they compare server configurations, these scripts measure one app.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(kind: str, data_dir: Path, pg_db: str) -> str:
    """SQLite in ``data_dir``, or a fresh PostgreSQL database ``pg_db`` (dropped first)."""
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'maestro.db'}"
    _admin(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)', f'CREATE DATABASE "{pg_db}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_db}"


def drop_database(kind: str, pg_db: str) -> None:
    if kind == "postgres":
        _admin(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')


def _admin(*statements: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


class Server:
    """uvicorn serving ``maestro.app:app`` on 127.0.0.1 (``port``, or a free one), in its
    own session so that ``stop`` kills it as a group."""

    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [str(ROOT / ".venv/bin/python"), "-m", "uvicorn", "maestro.app:app", "--port", str(self.port),
               "--host", "127.0.0.1", "--no-access-log"]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def rss_bytes(self) -> int:
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
        except FileNotFoundError:
            return 0
        line = next((x for x in text.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
        return int(line.split()[1]) * 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
