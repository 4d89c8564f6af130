"""Spool files: a crash's leftovers are removed (at start, by `maestro blobs gc`), while
uploads in flight, in this process or another worker's, are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from maestro.app import create_app
from maestro.blobs.spool import STALE_AFTER, Spool, sweep_stale
from maestro.cli import cli
from maestro.config import Settings, get_settings

LONG_AGO = time.time() - 3600


def _leftover(directory: Path, name: str, size: int, mtime: float = LONG_AGO) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_sweep_removes_old_unlocked_files_only(tmp_path: Path) -> None:
    spool_dir = tmp_path / "tmp"
    in_flight = Spool(spool_dir, limit=1 << 20)
    in_flight.write(b"streaming")
    os.utime(in_flight.path, (LONG_AGO, LONG_AGO))  # old, but its Spool holds the lock
    crashed = _leftover(spool_dir, "upload-crashed", 1234)
    young = _leftover(spool_dir, "upload-young", 10, mtime=time.time())
    other = _leftover(spool_dir, "not-a-spool", 10)
    swept = sweep_stale(spool_dir)
    assert [(s.path, s.size) for s in swept] == [(crashed, 1234)]
    assert in_flight.path.exists()
    assert young.exists()
    assert other.exists()
    in_flight.discard()
    assert not in_flight.path.exists()
    later = time.time() + STALE_AFTER + 1
    assert [s.path for s in sweep_stale(spool_dir, now=later)] == [young]  # once it, too, is old


_WORKER = """
import os, sys, time
from pathlib import Path
from maestro.blobs.spool import Spool
spool = Spool(Path(sys.argv[1]), limit=1 << 20)
spool.write(b"half an upload")
os.utime(spool.path, (0, 0))
print(spool.path, flush=True)
if sys.argv[2] == "crash":
    os._exit(1)
time.sleep(60)
"""


def test_another_workers_upload_is_spared_until_it_dies(tmp_path: Path) -> None:
    spool_dir = tmp_path / "tmp"
    with subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(spool_dir), "live"], stdout=subprocess.PIPE, text=True
    ) as worker:
        try:
            assert worker.stdout is not None
            path = Path(worker.stdout.readline().strip())
            assert sweep_stale(spool_dir) == []  # old, but a live process holds it
            assert path.exists()
        finally:
            worker.kill()
    assert [s.path for s in sweep_stale(spool_dir)] == [path]  # its process died: a leftover


def test_crash_leftovers_are_removed_when_the_server_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    crashed = subprocess.run(
        [sys.executable, "-c", _WORKER, str(data_dir / "tmp"), "crash"], capture_output=True, text=True
    )
    leftover = Path(crashed.stdout.strip())
    assert leftover.exists()
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        assert client.get("/healthz").status_code == 200
    assert not leftover.exists()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("MAESTRO_DATA_DIR", str(data_dir))
    monkeypatch.delenv("MAESTRO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def test_blobs_gc_reports_and_removes_stale_spool_files(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    leftover = _leftover(cli_env / "tmp", "upload-abc123", 4096)
    result = runner.invoke(cli, ["blobs", "gc"])
    assert result.exit_code == 0, result.output
    assert f"removed 1 stale upload spool file(s), 4096 bytes, from {cli_env / 'tmp'}" in result.output
    assert "upload-abc123" in result.output
    assert not leftover.exists()
    again = runner.invoke(cli, ["blobs", "gc"])
    assert "removed 0 stale upload spool file(s)" in again.output
