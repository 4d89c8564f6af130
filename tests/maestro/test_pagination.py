"""Keyset pagination: limit, opaque cursors in the Link header, order, time filters."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

MakeRun = Callable[..., dict[str, Any]]
MakeArtifact = Callable[..., dict[str, Any]]


def next_link(response: Any) -> str | None:
    header = response.headers.get("link")
    if header is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert match, header
    return match.group(1)


def walk(client: TestClient, url: str) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        ids += [item["id"] for item in response.json()]
        pages += 1
        next_url = next_link(response)
    return ids, pages


def test_default_limit_is_100(client: TestClient, make_run: MakeRun) -> None:
    for _ in range(101):
        make_run(owner="many")
    response = client.get("/maestro/runs?owner=many")
    assert len(response.json()) == 100
    assert next_link(response) is not None


def test_pages_cover_everything_once_newest_first(client: TestClient, make_run: MakeRun) -> None:
    created = [make_run(owner="p")["id"] for _ in range(7)]
    ids, pages = walk(client, "/maestro/runs?owner=p&limit=3")
    assert ids == list(reversed(created))
    assert pages == 3


def test_ascending_order(client: TestClient, make_run: MakeRun) -> None:
    created = [make_run(owner="p")["id"] for _ in range(5)]
    ids, _ = walk(client, "/maestro/runs?owner=p&limit=2&order=asc")
    assert ids == created


def test_no_link_on_last_page(client: TestClient, make_run: MakeRun) -> None:
    make_run(owner="p")
    make_run(owner="p")
    response = client.get("/maestro/runs?owner=p&limit=2")
    assert len(response.json()) == 2
    assert "link" not in response.headers


def test_link_keeps_filters(client: TestClient, make_run: MakeRun) -> None:
    for _ in range(3):
        make_run(owner="keep", related_entity_ids=["ent"])
    make_run(owner="other", related_entity_ids=["ent"])
    response = client.get("/maestro/runs?owner=keep&entity_id=ent&limit=2")
    link = next_link(response)
    assert link is not None
    assert "owner=keep" in link
    assert "entity_id=ent" in link
    ids, _ = walk(client, "/maestro/runs?owner=keep&entity_id=ent&limit=2")
    assert len(ids) == 3


def test_entity_filter_pages(client: TestClient, make_run: MakeRun) -> None:
    created = [make_run(related_entity_ids=["shared", f"own-{i}"])["id"] for i in range(5)]
    ids, pages = walk(client, "/maestro/runs?entity_id=shared&limit=2")
    assert ids == list(reversed(created))
    assert pages == 3


def test_inserts_between_pages_do_not_shift_them(client: TestClient, make_run: MakeRun) -> None:
    created = [make_run(owner="s")["id"] for _ in range(4)]
    first = client.get("/maestro/runs?owner=s&limit=2")
    make_run(owner="s")  # newer than everything: must not appear on page 2
    second = client.get(next_link(first) or "")
    assert [r["id"] for r in first.json() + second.json()] == list(reversed(created))


def test_started_after_and_before(client: TestClient, make_run: MakeRun) -> None:
    runs = [make_run(owner="t") for _ in range(3)]
    middle = runs[1]["started_at"]
    after = client.get("/maestro/runs", params={"owner": "t", "started_after": middle}).json()
    assert [r["id"] for r in after] == [runs[2]["id"], runs[1]["id"]]
    before = client.get("/maestro/runs", params={"owner": "t", "started_before": middle}).json()
    assert [r["id"] for r in before] == [runs[0]["id"]]


def test_artifact_and_pack_lists_page(
    client: TestClient, make_run: MakeRun, make_artifact: MakeArtifact
) -> None:
    run = make_run()
    created = [make_artifact(run["id"])["id"] for _ in range(5)]
    ids, pages = walk(client, f"/maestro/artifacts?run_id={run['id']}&limit=2&order=asc")
    assert ids == created
    assert pages == 3
    for i in range(3):
        client.post("/maestro/disclosure-packs", json={"run_id": run["id"], "summary": str(i)})
    pack_ids, pack_pages = walk(client, "/maestro/disclosure-packs?limit=2")
    assert len(pack_ids) == 3
    assert pack_pages == 2


@pytest.mark.parametrize("cursor", ["", "AAAA", "eyJ4IjogMX0", "W10", "WyJub3QtYS1kYXRlIiwgIngiXQ"])
def test_tampered_cursors_are_422(client: TestClient, cursor: str) -> None:
    response = client.get("/maestro/runs", params={"cursor": cursor or "%%%"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


def _cursor(stamp: str, ident: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([stamp, ident])).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("2026-01-01T00:00:00+00:00", "a\x00b"),  # NUL in the id: PostgreSQL cannot compare it
        _cursor("9999-12-31T23:59:59-14:00", "x"),  # past year 9999 in UTC
        _cursor("0001-01-01T00:00:00+14:00", "x"),  # before year 1 in UTC
        _cursor("2026-01-01T00:00:00", "x"),  # no zone
        _cursor("2026-01-01T00:00:00+00:00", "x") + "!!",  # outside base64url, once ignored
    ],
)
def test_cursors_the_server_could_not_have_issued_are_422(client: TestClient, cursor: str) -> None:
    response = client.get("/maestro/runs", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"


offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


@settings(max_examples=25)
@given(minutes=offsets, order=st.sampled_from(["asc", "desc"]))
def test_a_cursor_in_any_offset_reads_the_same_page(
    client: TestClient, make_run: MakeRun, minutes: int, order: str
) -> None:
    """SQLite compares timestamps as text: a cursor whose time kept its offset once read
    from the wrong place. The position is an instant, whatever offset names it."""
    if not client.get("/maestro/runs").json():
        for _ in range(4):
            make_run()
    first = client.get(f"/maestro/runs?limit=2&order={order}")
    token = (next_link(first) or "").rsplit("cursor=", 1)[1]
    stamp, ident = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    shifted = datetime.fromisoformat(stamp).astimezone(timezone(timedelta(minutes=minutes))).isoformat()
    expected = client.get(f"/maestro/runs?limit=2&order={order}&cursor={token}").json()
    got = client.get(f"/maestro/runs?limit=2&order={order}&cursor={_cursor(shifted, ident)}")
    assert got.status_code == 200
    assert [r["id"] for r in got.json()] == [r["id"] for r in expected]
