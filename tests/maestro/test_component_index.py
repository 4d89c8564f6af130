"""A large SBOM's component index on SQLite goes in batches so other writers keep
moving, and readers still see all of it or none of it. Batches are made small here
(3 rows) so a 10-component SBOM takes the batched path; on PostgreSQL the same
uploads take the one-transaction path and must give the same answers."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from maestro import storage
from maestro.components import index_writer as component_index
from maestro.db.engine import Database
from maestro.errors import DependencyUnavailable
from maestro.pagination import Page
from maestro.platform.uow import DetachedScope
from maestro.storage import evidence as evidence_store
from maestro.storage import evidence_views
from tests.maestro.evidence import builders

SBOM = builders.dumps(builders.cyclonedx(10))
COMPONENTS = 11  # lib0..lib9 and one nested component


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(component_index, "BATCH", 3)


@pytest.fixture
def run_id(client: TestClient) -> str:
    return str(client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"])


@pytest.fixture
def new_sbom(client: TestClient, run_id: str) -> Callable[[], str]:
    def make() -> str:
        body = {"run_id": run_id, "kind": "sbom", "path_or_uri": "s3://x/sbom.json"}
        return str(client.post("/maestro/artifacts", json=body).json()["id"])

    return make


def _put(client: TestClient, artifact_id: str, data: bytes = SBOM) -> Any:
    return client.put(f"/maestro/artifacts/{artifact_id}/content", content=data)


def _rows(db: Database, artifact_id: str) -> int:
    c = evidence_store.components_t.c
    with db.read() as session:
        return int(session.execute(select(func.count()).where(c.artifact_id == artifact_id)).scalar_one())


def _claims(db: Database) -> int:
    with db.read() as session:
        return int(session.execute(select(func.count()).select_from(evidence_store.claims_t)).scalar_one())


def _found(client: TestClient, name: str = "lib0") -> list[dict[str, Any]]:
    return list(client.get("/maestro/components", params={"name": name}).json())


def test_a_batched_index_is_whole_and_found(
    client: TestClient, maestro_store: Database, new_sbom: Callable[[], str]
) -> None:
    artifact_id = new_sbom()
    response = _put(client, artifact_id)
    assert response.status_code == 201, response.text
    assert _rows(maestro_store, artifact_id) == COMPONENTS
    assert [m["artifact_id"] for m in _found(client, "lib9")] == [artifact_id]
    assert _claims(maestro_store) == 0
    assert _put(client, artifact_id).status_code == 200  # the same bytes again: nothing new
    assert _rows(maestro_store, artifact_id) == COMPONENTS


def test_readers_never_see_half_an_index(
    client: TestClient,
    maestro_store: Database,
    run_id: str,
    new_sbom: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    artifact_id = new_sbom()
    seen: list[tuple[int, int, Any]] = []
    real_insert = evidence_store.insert_components

    def insert_and_look(session: Any, rows: Any) -> None:
        # Runs inside a write transaction; the reader sees what earlier batches committed.
        with maestro_store.read() as reader:  # every reader of the index: search, per artifact, diff
            visible = len(evidence_store.components_of_run(reader, run_id))
            visible += len(evidence_views.components_page(reader, artifact_id, Page()))
            visible += len(list(evidence_views.diff_rows(reader, run_id, run_id)))
            digest = storage.get_artifact(DetachedScope(reader, "default"), artifact_id).content_digest
        seen.append((_rows(maestro_store, artifact_id), visible, digest))
        real_insert(session, rows)

    monkeypatch.setattr(evidence_store, "insert_components", insert_and_look)
    assert _put(client, artifact_id).status_code == 201
    if maestro_store.dialect == "sqlite":
        assert [written for written, _, _ in seen] == [
            0,
            3,
            6,
            9,
        ]  # four batches of 3, 3, 3, 2, committed one by one
    assert all(visible == 0 and content is None for _, visible, content in seen)
    assert len(_found(client)) == 1


@pytest.mark.only(backend="sqlite")  # PostgreSQL writes the index in one transaction
def test_a_small_write_goes_between_batches(
    client: TestClient, maestro_store: Database, new_sbom: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create issued while batch 1 is being written completes before the upload does."""
    artifact_id = new_sbom()
    order: list[str] = []
    started = threading.Event()
    real_insert = evidence_store.insert_components

    def slow_insert(session: Any, rows: Any) -> None:
        started.set()
        real_insert(session, rows)

    def create() -> None:
        started.wait(10)
        assert client.post("/maestro/runs", json={"name": "small", "owner": "o"}).status_code == 201
        order.append("create")

    monkeypatch.setattr(evidence_store, "insert_components", slow_insert)
    monkeypatch.setattr(component_index, "_PAUSE", 50.0)  # a long pause after each batch
    writer = threading.Thread(target=create)
    writer.start()
    assert _put(client, artifact_id).status_code == 201
    order.append("upload")
    writer.join()
    assert order == ["create", "upload"]


@pytest.mark.parametrize("path", ["put", "multipart"])
def test_a_failed_batched_upload_leaves_nothing(
    client: TestClient,
    maestro_store: Database,
    run_id: str,
    new_sbom: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    real_insert = evidence_store.insert_components

    def fail_last(session: Any, rows: Any) -> None:
        """The last batch fails (on SQLite after three were committed)."""
        if any(row["name"] == "lib9" for row in rows):
            raise DependencyUnavailable("injected")
        real_insert(session, rows)

    monkeypatch.setattr(evidence_store, "insert_components", fail_last)
    before = client.get("/maestro/artifacts", params={"run_id": run_id}).json()
    if path == "put":
        artifact_id = new_sbom()
        assert _put(client, artifact_id).status_code == 503
        assert client.get(f"/maestro/artifacts/{artifact_id}").json()["content"] is None
        assert _rows(maestro_store, artifact_id) == 0
    else:
        meta = {"run_id": run_id, "kind": "sbom", "path_or_uri": "s3://x/sbom.json"}
        response = client.post(
            "/maestro/artifacts", data={"artifact": json.dumps(meta)}, files={"file": ("s.json", SBOM)}
        )
        assert response.status_code == 503
        assert client.get("/maestro/artifacts", params={"run_id": run_id}).json() == before
    assert _claims(maestro_store) == 0
    assert _found(client) == []
    monkeypatch.setattr(evidence_store, "insert_components", real_insert)
    if path == "put":
        assert _put(client, artifact_id).status_code == 201  # and it can be uploaded again
        assert _rows(maestro_store, artifact_id) == COMPONENTS


def test_multipart_create_in_batches(client: TestClient, maestro_store: Database, run_id: str) -> None:
    meta = {"run_id": run_id, "kind": "sbom", "path_or_uri": "s3://x/sbom.json"}
    response = client.post(
        "/maestro/artifacts", data={"artifact": json.dumps(meta)}, files={"file": ("s.json", SBOM)}
    )
    assert response.status_code == 201, response.text
    assert _rows(maestro_store, response.json()["id"]) == COMPONENTS
    assert len(_found(client)) == 1
    assert _claims(maestro_store) == 0


@pytest.fixture
def dead_upload(maestro_store: Database, new_sbom: Callable[[], str], run_id: str) -> Callable[..., str]:
    """An artifact a crashed batched upload left: its claim and two hidden rows."""

    def make(age: timedelta) -> str:
        artifact_id = new_sbom()
        now = datetime.now(UTC)
        rows = [
            {"id": str(uuid.uuid4()), "artifact_id": artifact_id, "run_id": run_id,
             "purl": None, "purl_base": None, "name": "lib0", "version": None, "hashes": {}, "licenses": [],
             "created_at": now}
            for _ in range(2)
        ]  # fmt: skip
        with maestro_store.write() as session:
            evidence_store.insert_components(session, rows)
            session.execute(
                insert(evidence_store.claims_t),
                [{"artifact_id": artifact_id, "token": "dead", "renewed_at": now - age}],
            )
        return artifact_id

    return make


@pytest.mark.parametrize("batch", [3, 1000], ids=["batched", "one-transaction"])
def test_a_live_claim_is_409_and_a_lapsed_one_is_taken_over(
    client: TestClient,
    maestro_store: Database,
    dead_upload: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
) -> None:
    monkeypatch.setattr(component_index, "BATCH", batch)
    live = dead_upload(timedelta(seconds=1))
    busy = _put(client, live)
    assert busy.status_code == 409
    assert "still being indexed" in busy.json()["detail"]
    assert _found(client) == []  # its rows stay hidden
    lapsed = dead_upload(component_index.LEASE + timedelta(seconds=1))
    assert _put(client, lapsed).status_code == 201
    assert _rows(maestro_store, lapsed) == COMPONENTS  # the dead upload's two rows are gone
    assert [m["artifact_id"] for m in _found(client)] == [lapsed]


@pytest.mark.only(backend="postgresql")
def test_on_postgresql_an_open_index_transaction_blocks_no_create(
    client: TestClient, maestro_store: Database, new_sbom: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact_id = new_sbom()
    created: list[int] = []
    real_insert = evidence_store.insert_components

    def insert_then_create(session: Any, rows: Any) -> None:
        real_insert(session, rows)  # the index is written but not committed: its transaction is open
        other = threading.Thread(
            target=lambda: created.append(
                client.post("/maestro/runs", json={"name": "s", "owner": "o"}).status_code
            )
        )
        other.start()
        other.join(timeout=60)

    monkeypatch.setattr(evidence_store, "insert_components", insert_then_create)
    assert _put(client, artifact_id).status_code == 201
    assert created == [201]  # finished while the index transaction was still open
