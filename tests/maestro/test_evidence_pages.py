"""The paged endpoints behind an artifact's bounded evidence, and the paged manifest:
every item exactly once in order, the Link header to follow, clear 4xx errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from maestro.db import migrate
from maestro.db.engine import Database
from maestro.db.tables import ArtifactMemberRow
from maestro.pagination import Cursor, PositionCursor
from tests.maestro.evidence import builders


def _create(client: TestClient, run_id: str, data: bytes, kind: str = "other") -> dict[str, Any]:
    meta = f'{{"run_id": "{run_id}", "kind": "{kind}", "path_or_uri": "s3://b/{kind}"}}'
    response = client.post("/maestro/artifacts", data={"artifact": meta}, files={"file": ("f", data)})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _follow(client: TestClient, url: str) -> tuple[list[Any], int]:
    """Every item of a paged list, following Link; and how many requests it took."""
    items: list[Any] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        items.extend(response.json())
        pages += 1
        link = response.headers.get("link")
        next_url = link.split(";")[0].strip("<>") if link else None
    return items, pages


ARCHIVE_FILES = {f"m/{i:03d}.txt": f"line {i}\n".encode() for i in range(25)} | {
    "sbom.json": builders.dumps(builders.cyclonedx(3))
}


def test_members_page_in_archive_order(client: TestClient, make_run: Callable[..., Any]) -> None:
    archive = _create(client, make_run()["id"], builders.zip_of(ARCHIVE_FILES))
    assert archive["evidence"]["member_count"] == 26
    members, pages = _follow(client, f"/maestro/artifacts/{archive['id']}/evidence/members?limit=10")
    assert pages == 3
    assert [m["position"] for m in members] == list(range(26))
    assert [m["path"] for m in members] == list(ARCHIVE_FILES)
    sbom = members[-1]["evidence"]
    assert sbom["format"] == "cyclonedx-json"
    assert sbom["evidence_type"] == "sbom"
    assert archive["evidence"]["verified"]["sbom"] is True  # still earned through a member


def test_members_of_other_content_is_empty_and_errors_are_clear(
    client: TestClient, make_run: Callable[..., Any], make_artifact: Callable[..., Any]
) -> None:
    run_id = make_run()["id"]
    log = _create(client, run_id, b"just a log\n")
    assert client.get(f"/maestro/artifacts/{log['id']}/evidence/members").json() == []
    empty = make_artifact(run_id)
    for path in ("evidence", "evidence/members"):
        response = client.get(f"/maestro/artifacts/{empty['id']}/{path}")
        assert response.status_code == 404
        assert response.json()["error"] == "content_not_found"
        response = client.get(f"/maestro/artifacts/nope/{path}")
        assert response.status_code == 404
        assert response.json()["error"] == "artifact_not_found"
    assert client.get("/maestro/artifacts/nope/components").json()["error"] == "artifact_not_found"
    assert client.get(f"/maestro/artifacts/{empty['id']}/components").json() == []


@pytest.mark.parametrize(
    "cursor",
    ["garbage", Cursor(datetime(2026, 1, 1, tzinfo=UTC), "x").encode()],
)
def test_members_cursor_must_be_a_members_cursor(
    client: TestClient, make_run: Callable[..., Any], cursor: str
) -> None:
    archive = _create(client, make_run()["id"], builders.zip_of(ARCHIVE_FILES))
    response = client.get(f"/maestro/artifacts/{archive['id']}/evidence/members", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"
    response = client.get(f"/maestro/artifacts/{archive['id']}/evidence/members", params={"limit": 0})
    assert response.status_code == 422


def test_position_cursor_round_trips_and_refuses_what_it_did_not_issue() -> None:
    assert PositionCursor.decode(PositionCursor(41).encode()) == PositionCursor(41)
    for bad in (PositionCursor(2**31).encode(), "x" * 600, "WyJwIiwtMV0"):
        with pytest.raises(Exception, match="cursor"):
            PositionCursor.decode(bad)


def test_components_of_one_artifact_page_through(client: TestClient, make_run: Callable[..., Any]) -> None:
    run_id = make_run()["id"]
    sbom = _create(client, run_id, builders.dumps(builders.cyclonedx(30)), kind="sbom")
    _create(client, run_id, builders.dumps(builders.cyclonedx(5)), kind="sbom")  # another artifact's
    components, pages = _follow(client, f"/maestro/artifacts/{sbom['id']}/components?limit=7&order=asc")
    assert pages == 5
    assert {c["artifact_id"] for c in components} == {sbom["id"]}
    assert len({c["id"] for c in components}) == len(components) == 31  # 30 + one nested


def test_full_evidence_keeps_what_the_view_cut(client: TestClient, make_run: Callable[..., Any]) -> None:
    doc = builders.cyclonedx(12)
    for component in doc["components"]:
        component["type"] = "not-a-type"
    artifact = _create(client, make_run()["id"], builders.dumps(doc), kind="sbom")
    view = artifact["evidence"]
    full = client.get(f"/maestro/artifacts/{artifact['id']}/evidence").json()
    assert view["error_count"] == full["error_count"] == len(full["errors"]) >= 12
    assert len(view["errors"]) == 5
    assert view["errors"] == full["errors"][:5]
    assert "/errors" in view["truncated"]
    assert "/errors" not in full["truncated"]


def test_manifest_pages_artifacts_and_links_older_packs(
    client: TestClient, make_run: Callable[..., Any], make_artifact: Callable[..., Any]
) -> None:
    run_id = make_run()["id"]
    created = [make_artifact(run_id, sbom_present=True)["id"] for _ in range(5)]
    packs = [
        client.post("/maestro/disclosure-packs", json={"run_id": run_id, "summary": f"p{i}"}).json()["id"]
        for i in range(23)
    ]
    seen: list[str] = []
    url: str | None = f"/maestro/runs/{run_id}/manifest?limit=2"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        page_ids = [a["id"] for a in body["artifacts"]]
        assert [e["artifact_id"] for e in body["compliance_report"]["artifacts"]] == page_ids
        assert body["compliance_report"]["total_artifacts"] == 5
        assert body["release_gate"]["details"]["total_artifacts"] == 5
        assert [p["id"] for p in body["disclosure_packs"]] == packs[3:]
        assert body["disclosure_pack"]["id"] == packs[-1]
        seen += page_ids
        url = body["artifacts_next"]
        assert (response.headers.get("link") is None) == (url is None)
    assert seen == created
    assert pages == 3
    older = client.get(body["disclosure_packs_next"]).json()
    assert [p["id"] for p in older] == packs[:3][::-1]


def test_small_manifest_has_no_next_links(
    client: TestClient, make_run: Callable[..., Any], make_artifact: Callable[..., Any]
) -> None:
    run_id = make_run()["id"]
    make_artifact(run_id)
    body = client.get(f"/maestro/runs/{run_id}/manifest").json()
    assert body["artifacts_next"] is None
    assert body["disclosure_packs_next"] is None
    assert client.get(f"/maestro/runs/{run_id}/manifest?cursor=bad").status_code == 422
    assert client.get(f"/maestro/runs/{run_id}/manifest?limit=1001").status_code == 422


def test_migration_moves_members_out_and_back(
    client: TestClient, make_run: Callable[..., Any], maestro_store: Database
) -> None:
    """Downgrade folds the members into the artifact row; upgrade splits them out again."""
    archive = _create(client, make_run()["id"], builders.zip_of(ARCHIVE_FILES))
    client.app.state.gate_follower.stop()  # type: ignore[attr-defined]  # nothing may write while
    client.app.state.audit_sequencer.stop()  # type: ignore[attr-defined]  # the schema changes
    migrate.downgrade(maestro_store.engine, "0003")
    with maestro_store.engine.begin() as conn:
        folded = conn.exec_driver_sql("SELECT evidence FROM artifacts").scalar_one()
    folded = folded if isinstance(folded, dict) else json.loads(folded)
    assert [m["path"] for m in folded["members"]] == list(ARCHIVE_FILES)
    migrate.upgrade(maestro_store.engine)
    with maestro_store.read() as session:
        assert session.execute(select(func.count()).select_from(ArtifactMemberRow)).scalar_one() == 26
    assert client.get(f"/maestro/artifacts/{archive['id']}").json() == archive
    members, _ = _follow(client, f"/maestro/artifacts/{archive['id']}/evidence/members")
    assert [m["path"] for m in members] == list(ARCHIVE_FILES)
