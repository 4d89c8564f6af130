"""Responses stay small whatever was uploaded (issue 8, item 5).

Worst-case evidence - an archive at the member limit with long paths, an SBOM
with many components, a schema-invalid SBOM with a full error list, a
provenance with thousands of long subjects - is uploaded, the artifacts are
copied until a page holds 100 of them, and every list and manifest endpoint
must answer within ~1 MB per 100 items. The bulk stays reachable through its
own paged endpoints, which obey the same bound.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from maestro import storage
from maestro.artifacts import repository as artifact_repository
from maestro.db.engine import Database
from maestro.db.records import values_of
from maestro.db.tables import IdempotencyKeyRow
from maestro.evidence.archive import MAX_MEMBERS
from maestro.ids import uuid7
from maestro.pagination import Page
from maestro.platform.uow import unit_of_work
from tests.maestro.evidence import builders

PER_100_ITEMS = 1_000_000
ONE_ARTIFACT = 12_000
LONG = "p" * 180


def _archive() -> bytes:
    """MAX_MEMBERS members with long paths; a few are invalid SBOMs full of errors."""
    files = {f"dir/{LONG}/{i:05d}.txt": b"build ok\n" for i in range(MAX_MEMBERS - 10)}
    for i in range(10):
        files[f"bad/{i}.json"] = builders.dumps(_invalid_sbom())
    return builders.zip_of(files)


def _invalid_sbom() -> dict[str, Any]:
    doc = builders.cyclonedx(80)
    for component in doc["components"]:
        component["type"] = "t" * 400  # one schema error each, with a long message
    return doc


def _provenance() -> bytes:
    subjects = [{"name": "n" * 300 + str(i), "digest": {"sha256": f"{i:064x}"}} for i in range(2000)]
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "b" * 1000, "externalParameters": {"x": "y" * 5000}},
            "runDetails": {"builder": {"id": "i" * 2000}},
        },
    }
    return orjson.dumps(statement)


WORST_CASES: dict[str, tuple[str, bytes]] = {
    "archive": ("other", _archive()),
    "many components": ("sbom", builders.dumps(builders.cyclonedx(20_000))),
    "long error list": ("sbom", builders.dumps(_invalid_sbom())),
    "big summary": ("slsa_provenance", _provenance()),
}


def _upload(client: TestClient, run_id: str, kind: str, data: bytes, key: str) -> dict[str, Any]:
    meta = orjson.dumps({"run_id": run_id, "kind": kind, "path_or_uri": f"s3://worst/{kind}"}).decode()
    response = client.post(
        "/maestro/artifacts",
        data={"artifact": meta},
        files={"file": ("content", data, "application/octet-stream")},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text[:500]
    return dict(response.json())


def _copy_artifacts(db: Database, run_id: str, total: int) -> None:
    """Fill the run to ``total`` artifacts with copies of the uploaded rows (cheaper than uploads)."""
    with unit_of_work(db) as uow:
        rows = [values_of(r) for r in storage.list_artifacts(uow, Page(limit=1000), run_id=run_id)]
        copies = [
            {**rows[i % len(rows)], "id": uuid7(), "created_at": datetime.now(UTC)}
            for i in range(total - len(rows))
        ]
        for values in copies:
            artifact_repository.insert_artifact(uow, values)


@pytest.fixture
def worst_run(client: TestClient, maestro_store: Database, make_run: Callable[..., Any]) -> dict[str, Any]:
    run_id = make_run()["id"]
    uploaded = {
        name: _upload(client, run_id, kind, data, f"k-{i}")
        for i, (name, (kind, data)) in enumerate(WORST_CASES.items())
    }
    _copy_artifacts(maestro_store, run_id, 100)
    for _ in range(100):
        assert (
            client.post("/maestro/disclosure-packs", json={"run_id": run_id, "summary": "s"}).status_code
            == 201
        )
    return {"run_id": run_id, "uploaded": uploaded}


def _size(client: TestClient, url: str) -> tuple[int, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return len(response.content), response.json()


def test_lists_and_manifest_stay_under_1mb_per_100_items(
    client: TestClient, worst_run: dict[str, Any]
) -> None:
    run_id = worst_run["run_id"]
    for url in (
        f"/maestro/artifacts?limit=100&run_id={run_id}",
        "/maestro/artifacts?limit=100",
        f"/maestro/runs/{run_id}/manifest?limit=100",
        "/maestro/disclosure-packs?limit=100",
        "/maestro/runs?limit=100",
        "/maestro/components?limit=100&name=lib1",
    ):
        size, _body = _size(client, url)
        assert size <= PER_100_ITEMS, (url, size)
    size, manifest = _size(client, f"/maestro/runs/{run_id}/manifest?limit=100")
    assert len(manifest["artifacts"]) == 100
    assert manifest["compliance_report"]["total_artifacts"] == 100


def test_each_artifact_view_is_bounded_and_says_what_it_cut(
    client: TestClient, worst_run: dict[str, Any]
) -> None:
    uploaded = worst_run["uploaded"]
    for name, artifact in uploaded.items():
        size, body = _size(client, f"/maestro/artifacts/{artifact['id']}")
        assert size <= ONE_ARTIFACT, (name, size)
        assert body == artifact  # the create response is the same bounded view
    archive = uploaded["archive"]["evidence"]
    assert archive["members"] == []
    assert archive["member_count"] == MAX_MEMBERS
    assert "/members" in archive["truncated"]
    errors = uploaded["long error list"]["evidence"]
    assert errors["error_count"] > len(errors["errors"]) == 5
    assert "/errors" in errors["truncated"]
    assert "/summary/subjects" in uploaded["big summary"]["evidence"]["truncated"]


def test_full_evidence_is_one_request_away(client: TestClient, worst_run: dict[str, Any]) -> None:
    artifact = worst_run["uploaded"]["long error list"]
    _, full = _size(client, f"/maestro/artifacts/{artifact['id']}/evidence")
    assert len(full["errors"]) == full["error_count"] == artifact["evidence"]["error_count"]
    assert full["verified"] == artifact["evidence"]["verified"]
    assert "/errors" not in full["truncated"]
    subjects = client.get(f"/maestro/artifacts/{worst_run['uploaded']['big summary']['id']}/evidence").json()
    assert len(subjects["summary"]["subjects"]) > 20


def test_members_and_components_pages_stay_bounded(client: TestClient, worst_run: dict[str, Any]) -> None:
    archive_id = worst_run["uploaded"]["archive"]["id"]
    size, members = _size(client, f"/maestro/artifacts/{archive_id}/evidence/members?limit=100")
    assert size <= PER_100_ITEMS
    assert len(members) == 100
    size, members = _size(client, f"/maestro/artifacts/{archive_id}/evidence/members?limit=1000")
    assert size <= 10 * PER_100_ITEMS
    assert len(members) == 1000
    sbom_id = worst_run["uploaded"]["many components"]["id"]
    size, components = _size(client, f"/maestro/artifacts/{sbom_id}/components?limit=100")
    assert size <= PER_100_ITEMS
    assert len(components) == 100


def test_stored_idempotent_responses_are_the_small_view(
    client: TestClient, maestro_store: Database, worst_run: dict[str, Any]
) -> None:
    with maestro_store.read() as session:
        bodies = session.execute(select(IdempotencyKeyRow.key, IdempotencyKeyRow.response_body)).all()
    assert len(bodies) == len(WORST_CASES)
    for key, body in bodies:
        assert body is not None, key
        assert len(body) <= ONE_ARTIFACT, key
