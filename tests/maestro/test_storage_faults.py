"""The embedded store under a changing disk: the SQLite file removed or replaced under
a running server, and a full disk. Real files, a real (small) tmpfs."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro.app import create_app
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.errors import DatabaseFileChanged

RUN = {"name": "n", "owner": "o@example.com"}


def _client(data_dir: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, **settings)))


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """The default deployment: SQLite in the data directory, blobs beside it."""
    data_dir = tmp_path / "data"
    with _client(data_dir, min_free_bytes=0) as client:
        yield client, data_dir


def test_removed_data_directory_refuses_writes(embedded: tuple[TestClient, Path]) -> None:
    client, data_dir = embedded
    assert client.post("/maestro/runs", json=RUN).status_code == 201
    shutil.rmtree(data_dir)
    refused = client.post("/maestro/runs", json=RUN)
    assert refused.status_code == 503
    body = refused.json()
    assert body["error"] == "database_file_changed"
    assert str(data_dir / "maestro.db") in body["detail"]
    assert "removed" in body["detail"]
    keyed = client.post("/maestro/runs", json=RUN, headers={"Idempotency-Key": "k1"})
    assert keyed.status_code == 503  # the idempotency record's write is refused alike
    assert keyed.json()["error"] == "database_file_changed"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"] == "database_file_changed"


def test_replaced_database_file_refuses_writes(embedded: tuple[TestClient, Path]) -> None:
    client, data_dir = embedded
    path = data_dir / "maestro.db"
    run = client.post("/maestro/runs", json=RUN).json()
    copy = data_dir / "restored.db"
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    copy.replace(path)  # an operator "restoring a backup" under the running server
    refused = client.patch(f"/maestro/runs/{run['id']}", json={"status": "running"})
    assert refused.status_code == 503
    assert refused.json()["error"] == "database_file_changed"
    assert "replaced" in refused.json()["detail"]
    assert client.get("/readyz").json()["error"] == "database_file_changed"


def test_unchanged_file_is_written_and_ready(embedded: tuple[TestClient, Path]) -> None:
    client, _ = embedded
    assert client.get("/readyz").status_code == 200
    assert client.post("/maestro/runs", json=RUN).status_code == 201


def test_database_write_checks_the_file(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with db.write() as session:
        session.connection()
    assert db.file_problem() is None
    (tmp_path / "m.db").unlink()
    with pytest.raises(DatabaseFileChanged, match="was removed"), db.write():
        pass
    db.dispose()
    memory = Database("sqlite://")
    with memory.write():
        pass
    assert memory.file_problem() is None
    memory.dispose()


# ---------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root / CAP_SYS_ADMIN, which CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(
            "needs a small tmpfs, and `mount -t tmpfs` is not permitted here: "
            f"run as root ({done.stderr.strip()})"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> Path:
    """Write until the disk is full; the file is removed to free it again."""
    filler = directory / "filler"
    with open(filler, "wb") as handle, suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    return filler


def test_full_disk_upload_is_507_naming_the_data_directory(
    small_disk: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data_dir = small_disk / "data"
    with _client(data_dir, min_free_bytes=0) as client:
        run = client.post("/maestro/runs", json=RUN).json()
        artifact = client.post(
            "/maestro/artifacts",
            json={
                "run_id": run["id"],
                "kind": "build_log",
                "path_or_uri": "s3://b/log.txt",
                "metadata_json": {},
            },
        ).json()
        put = client.put(f"/maestro/artifacts/{artifact['id']}/content", content=b"x" * (4 << 20))
        assert put.status_code == 507
        body = put.json()
        assert body["error"] == "insufficient_storage"
        assert str(data_dir) in body["detail"]
        assert "No space left on device" in capfd.readouterr().err  # the cause is logged
        assert list((data_dir / "tmp").iterdir()) == []  # the partial spool is gone
        assert client.get(f"/maestro/artifacts/{artifact['id']}").json()["content"] is None
        assert client.put(f"/maestro/artifacts/{artifact['id']}/content", content=b"fits").status_code == 201


def test_full_disk_database_write_is_507_then_recovers(
    small_disk: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data_dir = small_disk / "data"
    with _client(data_dir, min_free_bytes=512 * 1024) as client:
        assert client.get("/readyz").status_code == 200
        filler = _fill(small_disk)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["error"] == "low_disk_space"
        big = {**RUN, "metadata": {"notes": "n" * 900_000}}  # must grow the WAL
        refused = client.post("/maestro/runs", json=big)
        assert refused.status_code == 507, refused.text
        assert refused.json()["error"] == "insufficient_storage"
        assert str(data_dir) in refused.json()["detail"]
        assert "database or disk is full" in capfd.readouterr().err  # SQLite's own words, logged
        keyed = client.post("/maestro/runs", json=big, headers={"Idempotency-Key": "full-1"})
        assert keyed.status_code == 507  # with a key too, not a 500
        filler.unlink()
        assert client.post("/maestro/runs", json=big).status_code == 201
        assert client.get("/readyz").status_code == 200
        assert len(client.get("/maestro/runs").json()) == 1


def test_readyz_reports_low_disk_space(tmp_path: Path) -> None:
    with _client(tmp_path / "data", min_free_bytes=1 << 62) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"] == "low_disk_space"
    assert "MAESTRO_MIN_FREE_BYTES" in ready.json()["detail"]
