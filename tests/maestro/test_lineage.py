"""Run lineage: depends_on on create and update, refused ids and cycles, and the walk up
and down the graph (depth, truncation, tenants), on both databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from maestro.db.engine import Database
from maestro.errors import ValidationFailed
from maestro.models import RunUpdate
from maestro.platform.uow import state_digest, unit_of_work
from maestro.runs import lineage as lineage_service
from maestro.runs import repository
from maestro.runs import service as run_service
from maestro.tenancy.roles import Role
from tests.maestro.tenancy.helpers import bearer, issue

MakeRun = Callable[..., dict[str, Any]]


def _run(client: TestClient, name: str = "r", **fields: Any) -> dict[str, Any]:
    response = client.post("/maestro/runs", json={"name": name, "owner": "ci", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _patch(client: TestClient, run_id: str, depends_on: list[str]) -> Any:
    return client.patch(f"/maestro/runs/{run_id}", json={"depends_on": depends_on})


def _lineage(client: TestClient, run_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/maestro/runs/{run_id}/lineage", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = dict(response.json())
    assert body["error"] == "validation_failed"
    assert body["errors"][0]["field"] == "depends_on"
    return body


def test_depends_on_is_stored_sorted_and_deduplicated(client: TestClient) -> None:
    a, b = _run(client, "a"), _run(client, "b")
    c = _run(client, "c", depends_on=[b["id"], a["id"], b["id"]])
    assert c["depends_on"] == sorted([a["id"], b["id"]])
    assert client.get(f"/maestro/runs/{c['id']}").json()["depends_on"] == c["depends_on"]
    listed = {r["id"]: r["depends_on"] for r in client.get("/maestro/runs").json()}
    assert listed == {a["id"]: [], b["id"]: [], c["id"]: c["depends_on"]}
    assert client.get(f"/maestro/runs/{c['id']}/manifest").json()["run"]["depends_on"] == c["depends_on"]


def test_patch_replaces_dependencies_and_changes_the_etag_only_when_they_change(client: TestClient) -> None:
    a, b = _run(client, "a"), _run(client, "b")
    c = _run(client, "c", depends_on=[a["id"]])
    same = client.patch(f"/maestro/runs/{c['id']}", json={"depends_on": [a["id"], a["id"]]})
    assert same.status_code == 200
    assert same.headers["etag"] == '"v1"'
    moved = _patch(client, c["id"], [b["id"]])
    assert moved.status_code == 200
    assert moved.json()["depends_on"] == [b["id"]]
    assert moved.headers["etag"] == '"v2"'
    cleared = _patch(client, c["id"], [])
    assert cleared.json()["depends_on"] == []
    assert _lineage(client, c["id"])["runs"] == []


def test_unknown_and_other_tenants_ids_are_refused_alike_and_named(
    client: TestClient, maestro_store: Database
) -> None:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    theirs = client.post("/maestro/runs", json={"name": "b", "owner": "o"}, headers=beta).json()["id"]
    mine = client.post("/maestro/runs", json={"name": "a", "owner": "o"}, headers=alpha).json()["id"]
    answers = []
    for ghost in (theirs, "0190f000-0000-7000-8000-000000000000"):
        response = client.post(
            "/maestro/runs", json={"name": "n", "owner": "o", "depends_on": [mine, ghost]}, headers=alpha
        )
        body = _error(response)
        assert body["errors"][0]["unknown_ids"] == [ghost]
        assert ghost in body["detail"]
        assert mine not in body["detail"]
        answers.append(body["detail"].replace(ghost, "ID"))
        patched = client.patch(f"/maestro/runs/{mine}", json={"depends_on": [ghost]}, headers=alpha)
        assert _error(patched)["errors"][0]["unknown_ids"] == [ghost]
    assert answers[0] == answers[1]  # another tenant's run looks exactly like no run
    assert client.get(f"/maestro/runs/{theirs}/lineage", headers=alpha).status_code == 404
    assert client.get(f"/maestro/runs/{mine}/lineage", headers=beta).json()["error"] == "run_not_found"


def test_a_run_cannot_depend_on_itself(client: TestClient) -> None:
    a = _run(client)
    body = _error(_patch(client, a["id"], [a["id"]]))
    assert "itself" in body["detail"]
    assert a["id"] in body["detail"]


def test_a_cycle_is_refused_with_its_path(client: TestClient) -> None:
    r1 = _run(client, "r1")
    r2 = _run(client, "r2", depends_on=[r1["id"]])
    r3 = _run(client, "r3", depends_on=[r2["id"]])
    body = _error(_patch(client, r1["id"], [r3["id"]]))
    path = [r1["id"], r3["id"], r2["id"], r1["id"]]
    assert body["detail"] == f"depends_on: would make a cycle: {' -> '.join(path)}"
    assert body["errors"][0]["cycle"] == path
    assert client.get(f"/maestro/runs/{r1['id']}").json()["depends_on"] == []  # nothing written


def test_at_most_100_dependencies(client: TestClient) -> None:
    ids = [f"id-{i}" for i in range(101)]
    response = client.post("/maestro/runs", json={"name": "n", "owner": "o", "depends_on": ids})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "depends_on"
    run = _run(client)
    response = _patch(client, run["id"], ids)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "depends_on"


def test_lineage_up_and_down_with_depth(client: TestClient) -> None:
    a = _run(client, "a")
    b = _run(client, "b", depends_on=[a["id"]])
    c = _run(client, "c", depends_on=[b["id"], a["id"]])
    d = _run(client, "d", depends_on=[c["id"]])
    up = _lineage(client, d["id"])
    assert (up["run_id"], up["direction"], up["depth"], up["truncated"]) == (d["id"], "up", 10, False)
    assert [(r["id"], r["depth"]) for r in up["runs"]] == [
        (c["id"], 1),
        *sorted([(a["id"], 2), (b["id"], 2)]),
    ]
    assert up["runs"][0] == {
        "id": c["id"], "name": "c", "owner": "ci", "status": "pending", "depth": 1,
        "depends_on": sorted([a["id"], b["id"]]),
    }  # fmt: skip
    assert up["edges"] == sorted(
        [[b["id"], a["id"]], [c["id"], a["id"]], [c["id"], b["id"]], [d["id"], c["id"]]]
    )
    one = _lineage(client, d["id"], depth=1)
    assert [r["id"] for r in one["runs"]] == [c["id"]]
    assert one["edges"] == [[d["id"], c["id"]]]
    down = _lineage(client, a["id"], direction="down", depth=2)
    assert [(r["id"], r["depth"]) for r in down["runs"]] == [
        *sorted([(b["id"], 1), (c["id"], 1)]),
        (d["id"], 2),
    ]
    assert [r["id"] for r in _lineage(client, a["id"], direction="down", depth=1)["runs"]] == sorted(
        [b["id"], c["id"]]
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [({"depth": 0}, "depth"), ({"depth": 51}, "depth"), ({"direction": "sideways"}, "direction")],
)
def test_lineage_refuses_parameters_out_of_range(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    run = _run(client)
    response = client.get(f"/maestro/runs/{run['id']}/lineage", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_depth_50_follows_a_chain_of_50(client: TestClient) -> None:
    chain = [_run(client, "0")]
    for i in range(1, 52):
        chain.append(_run(client, str(i), depends_on=[chain[-1]["id"]]))
    up = _lineage(client, chain[-1]["id"], depth=50)
    assert [r["depth"] for r in up["runs"]] == list(range(1, 51))
    assert up["runs"][-1]["id"] == chain[1]["id"]
    assert not up["truncated"]


def test_lineage_is_truncated_at_the_cap(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage_service, "MAX_LINEAGE_RUNS", 3)
    roots = [_run(client, str(i)) for i in range(5)]
    top = _run(client, "top", depends_on=[r["id"] for r in roots])
    body = _lineage(client, top["id"])
    assert body["truncated"] is True
    assert [r["id"] for r in body["runs"]] == sorted(r["id"] for r in roots)[:3]
    assert all(edge[1] in {r["id"] for r in body["runs"]} for edge in body["edges"])
    monkeypatch.setattr(lineage_service, "MAX_LINEAGE_RUNS", 5)
    assert _lineage(client, top["id"])["truncated"] is False


def test_the_audit_event_hashes_the_new_dependencies(client: TestClient) -> None:
    a = _run(client, "a")
    b = _run(client, "b")
    patched = _patch(client, b["id"], [a["id"]]).json()
    events = client.get("/maestro/audit", params={"object_id": b["id"]}).json()
    assert [e["event"]["action"] for e in events] == ["run.create", "run.update"]
    assert events[-1]["event"]["state_sha256"] == state_digest(patched)
    assert events[-1]["event"]["state_sha256"] != state_digest({**patched, "depends_on": []})


def test_concurrent_updates_cannot_close_a_cycle_together(
    client: TestClient, maestro_store: Database
) -> None:
    """b depends on c and d on a; a -> b and c -> d together would close a -> b -> c -> d -> a.
    The two updates lock disjoint rows (a and b, c and d), so only the tenant's
    dependency lock keeps the second from checking before the first commits."""
    a, c = _run(client, "a")["id"], _run(client, "c")["id"]
    b = _run(client, "b", depends_on=[c])["id"]
    d = _run(client, "d", depends_on=[a])["id"]
    first_wrote = threading.Event()
    outcomes: dict[str, str] = {}

    def update(run_id: str, depends_on: str, hold: bool) -> None:
        try:
            with unit_of_work(maestro_store) as uow:
                run_service.update_run(uow, run_id, RunUpdate(depends_on=[depends_on]))
                if hold:  # keep the transaction open while the other one checks
                    first_wrote.set()
                    time.sleep(0.5)
            outcomes[run_id] = "ok"
        except ValidationFailed as exc:
            outcomes[run_id] = exc.detail
        finally:
            first_wrote.set()

    one = threading.Thread(target=update, args=(a, b, True))
    one.start()
    first_wrote.wait(10)
    update(c, d, False)
    one.join(10)
    assert outcomes == {a: "ok", c: f"depends_on: would make a cycle: {c} -> {d} -> {a} -> {b} -> {c}"}
    assert client.get(f"/maestro/runs/{c}").json()["depends_on"] == []


@pytest.mark.parametrize("upstream", [True, False], ids=["up", "down"])
def test_the_lineage_walk_is_index_backed(
    client: TestClient, maestro_store: Database, upstream: bool
) -> None:
    a = _run(client, "a")["id"]
    _run(client, "b", depends_on=[a])
    stmt = repository.lineage_query("default", a, upstream=upstream, depth=10, limit=1001)
    with maestro_store.engine.connect() as conn:
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        if maestro_store.dialect == "sqlite":
            plan = " | ".join(row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "SCAN run_dependencies" not in plan, plan
        else:
            conn.execute(
                text("SET LOCAL enable_seqscan = off")
            )  # tiny tables: ask whether an index can serve
            plan = " | ".join(row[0] for row in conn.execute(text(f"EXPLAIN {sql}")))
            assert "Seq Scan on run_dependencies" not in plan, plan
    if maestro_store.dialect == "sqlite":
        index = "sqlite_autoindex_run_dependencies_1 (tenant_id=? AND run_id=?)"  # the primary key
        if not upstream:
            index = "ix_run_dependencies_tenant_id_depends_on_id_run_id (tenant_id=? AND depends_on_id=?)"
    else:
        index = "pk_run_dependencies" if upstream else "ix_run_dependencies_tenant_id_depends_on_id_run_id"
    assert index in plan, plan
