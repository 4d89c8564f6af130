"""Run lifecycle, finished_at, merge-patch metadata, ETags and concurrent updates."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

MakeRun = Callable[..., dict[str, Any]]
TERMINAL = ["succeeded", "failed", "cancelled"]


def patch(client: TestClient, run_id: str, body: dict[str, Any], **headers: str) -> Any:
    return client.patch(f"/maestro/runs/{run_id}", json=body, headers=headers)


@pytest.mark.parametrize(
    "path",
    [
        ["running", "succeeded"],
        ["running", "failed"],
        ["running", "cancelled"],
        ["cancelled"],
        ["failed"],
        ["succeeded"],
    ],
)
def test_allowed_paths(client: TestClient, make_run: MakeRun, path: list[str]) -> None:
    run = make_run()
    for status in path:
        response = patch(client, run["id"], {"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status


@pytest.mark.parametrize("terminal", TERMINAL)
@pytest.mark.parametrize("target", ["pending", "running", *TERMINAL])
def test_terminal_states_are_final(client: TestClient, make_run: MakeRun, terminal: str, target: str) -> None:
    run = make_run()
    assert patch(client, run["id"], {"status": terminal}).status_code == 200
    response = patch(client, run["id"], {"status": target})
    if target == terminal:
        assert response.status_code == 200  # re-stating the status is not a change
        return
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "invalid_transition"
    assert f"'{terminal}', a terminal status" in body["detail"]
    assert "allowed transitions: none" in body["detail"]
    assert client.get(f"/maestro/runs/{run['id']}").json()["status"] == terminal


def test_running_cannot_go_back_to_pending(client: TestClient, make_run: MakeRun) -> None:
    run = make_run(status="running")
    response = patch(client, run["id"], {"status": "pending"})
    assert response.status_code == 409
    assert "allowed transitions: cancelled, failed, succeeded" in response.json()["detail"]


def test_terminal_run_still_accepts_cost_and_metadata(client: TestClient, make_run: MakeRun) -> None:
    run = make_run()
    done = patch(client, run["id"], {"status": "succeeded"}).json()
    later = patch(client, run["id"], {"cost_actual": 3.5, "metadata": {"billing": "reconciled"}}).json()
    assert later["status"] == "succeeded"
    assert later["cost_actual"] == 3.5
    assert later["finished_at"] == done["finished_at"]
    assert later["metadata"]["billing"] == "reconciled"


def test_reaching_terminal_state_sets_finished_at(client: TestClient, make_run: MakeRun) -> None:
    run = make_run()
    assert patch(client, run["id"], {"status": "running"}).json()["finished_at"] is None
    finished = patch(client, run["id"], {"status": "failed"}).json()
    assert finished["finished_at"] is not None
    assert finished["finished_at"] >= finished["started_at"]


def test_client_times_are_kept(client: TestClient, make_run: MakeRun) -> None:
    run = make_run(started_at="2025-11-22T09:00:00Z")
    assert run["started_at"] == "2025-11-22T09:00:00Z"
    when = "2025-11-22T10:30:00Z"
    response = patch(client, run["id"], {"status": "succeeded", "finished_at": when})
    assert response.json()["finished_at"] == when


def test_times_with_offsets_are_normalised_to_utc(client: TestClient, make_run: MakeRun) -> None:
    run = make_run(started_at="2025-11-22T11:00:00+02:00")
    assert run["started_at"] == "2025-11-22T09:00:00Z"
    body = {"status": "succeeded", "finished_at": "2025-11-22T12:30:00+02:00"}
    assert patch(client, run["id"], body).json()["finished_at"] == "2025-11-22T10:30:00Z"


def test_backfilled_run_sorts_by_its_real_start(client: TestClient, make_run: MakeRun) -> None:
    old = make_run(owner="b", started_at="2025-01-01T00:00:00Z", related_entity_ids=["x"])
    new = make_run(owner="b", related_entity_ids=["x"])
    assert [r["id"] for r in client.get("/maestro/runs?owner=b").json()] == [new["id"], old["id"]]
    assert [r["id"] for r in client.get("/maestro/runs?entity_id=x").json()] == [new["id"], old["id"]]
    before = client.get("/maestro/runs", params={"owner": "b", "started_before": "2025-06-01T00:00:00Z"})
    assert [r["id"] for r in before.json()] == [old["id"]]


@pytest.mark.parametrize("field", ["started_at", "finished_at"])
def test_times_in_the_future_are_422(client: TestClient, make_run: MakeRun, field: str) -> None:
    if field == "started_at":
        body = {"name": "n", "owner": "o", "started_at": "2999-01-01T00:00:00Z"}
        response = client.post("/maestro/runs", json=body)
    else:
        run = make_run()
        response = patch(client, run["id"], {"status": "succeeded", "finished_at": "2999-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert "in the future" in response.json()["detail"]


def test_finished_at_before_started_at_is_422(client: TestClient, make_run: MakeRun) -> None:
    run = make_run()
    response = patch(client, run["id"], {"status": "succeeded", "finished_at": "2000-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "finished_at"
    assert "before started_at" in response.json()["detail"]
    assert client.get(f"/maestro/runs/{run['id']}").json()["status"] == "pending"


def test_finished_at_on_unfinished_run_is_422(client: TestClient, make_run: MakeRun) -> None:
    run = make_run(started_at="2025-01-01T00:00:00Z")
    response = patch(client, run["id"], {"finished_at": "2025-02-01T00:00:00Z"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "finished_at"


def test_naive_finished_at_is_422(client: TestClient, make_run: MakeRun) -> None:
    run = make_run()
    response = patch(client, run["id"], {"status": "succeeded", "finished_at": "2025-01-01T00:00:00"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "finished_at"


@pytest.mark.parametrize("field", ["name", "status", "metadata", "related_entity_ids"])
def test_null_for_required_field_is_422(client: TestClient, make_run: MakeRun, field: str) -> None:
    run = make_run()
    response = patch(client, run["id"], {field: None})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_null_clears_a_cost(client: TestClient, make_run: MakeRun) -> None:
    run = make_run(cost_estimate=10.0)
    assert patch(client, run["id"], {"cost_estimate": None}).json()["cost_estimate"] is None


def test_owner_cannot_be_changed(client: TestClient, make_run: MakeRun) -> None:
    run = make_run()
    response = patch(client, run["id"], {"owner": "mallory"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner"


def test_metadata_is_a_json_merge_patch(client: TestClient, make_run: MakeRun) -> None:
    run = make_run(metadata={"a": 1, "nested": {"x": 1, "y": 2}, "drop": True})
    body = {"metadata": {"nested": {"y": None, "z": 3}, "drop": None, "b": [1, 2]}}
    assert patch(client, run["id"], body).json()["metadata"] == {
        "a": 1,
        "nested": {"x": 1, "z": 3},
        "b": [1, 2],
    }


@pytest.mark.parametrize("body", [{}, {"status": "pending"}, {"metadata": {}}, {"name": "same"}])
def test_patch_that_changes_nothing_keeps_the_etag(
    client: TestClient, make_run: MakeRun, body: dict[str, Any]
) -> None:
    run = make_run(name="same")
    response = patch(client, run["id"], body)
    assert response.status_code == 200
    assert response.json() == run
    assert response.headers["etag"] == '"v1"'


class TestETags:
    def test_etag_changes_on_every_update(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        first = client.get(f"/maestro/runs/{run['id']}").headers["etag"]
        response = patch(client, run["id"], {"metadata": {"k": 1}})
        assert response.headers["etag"] != first
        assert client.get(f"/maestro/runs/{run['id']}").headers["etag"] == response.headers["etag"]

    def test_if_match_current_succeeds(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        tag = client.get(f"/maestro/runs/{run['id']}").headers["etag"]
        assert patch(client, run["id"], {"status": "running"}, **{"If-Match": tag}).status_code == 200

    def test_if_match_stale_is_412_and_nothing_changes(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        stale = client.get(f"/maestro/runs/{run['id']}").headers["etag"]
        patch(client, run["id"], {"metadata": {"k": 1}})
        response = patch(client, run["id"], {"status": "running"}, **{"If-Match": stale})
        assert response.status_code == 412
        assert response.json()["error"] == "precondition_failed"
        assert client.get(f"/maestro/runs/{run['id']}").json()["status"] == "pending"

    @pytest.mark.parametrize("header", ["*", 'W/"v1"', '"v9", "v1"'])
    def test_if_match_forms(self, client: TestClient, make_run: MakeRun, header: str) -> None:
        run = make_run()
        assert patch(client, run["id"], {"status": "running"}, **{"If-Match": header}).status_code == 200

    def test_if_match_garbage_is_412(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        assert patch(client, run["id"], {"status": "running"}, **{"If-Match": '"abc"'}).status_code == 412

    @pytest.mark.parametrize("header", ['"v1"', 'W/"v1"', "*", '"v7", "v1"'])
    def test_if_none_match_gives_304(self, client: TestClient, make_run: MakeRun, header: str) -> None:
        run = make_run()
        response = client.get(f"/maestro/runs/{run['id']}", headers={"If-None-Match": header})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == '"v1"'

    def test_if_none_match_stale_gives_the_run(self, client: TestClient, make_run: MakeRun) -> None:
        run = make_run()
        patch(client, run["id"], {"metadata": {"k": 2}})
        response = client.get(f"/maestro/runs/{run['id']}", headers={"If-None-Match": '"v1"'})
        assert response.status_code == 200
        assert response.json()["metadata"]["k"] == 2

    def test_concurrent_if_match_patches_exactly_one_wins(
        self, client: TestClient, make_run: MakeRun
    ) -> None:
        run = make_run()
        tag = client.get(f"/maestro/runs/{run['id']}").headers["etag"]
        writers = 8
        barrier = threading.Barrier(writers)
        statuses: list[int] = []
        lock = threading.Lock()

        def write(index: int) -> None:
            barrier.wait()
            response = patch(client, run["id"], {"metadata": {"writer": index}}, **{"If-Match": tag})
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] + [412] * (writers - 1)
        final = client.get(f"/maestro/runs/{run['id']}")
        assert final.headers["etag"] == '"v2"'

    def test_concurrent_patches_without_if_match_all_apply(
        self, client: TestClient, make_run: MakeRun
    ) -> None:
        run = make_run(metadata={})
        writers = 8
        barrier = threading.Barrier(writers)
        errors: list[str] = []

        def write(index: int) -> None:
            barrier.wait()
            response = patch(client, run["id"], {"metadata": {f"w{index}": index}})
            if response.status_code != 200:
                errors.append(response.text)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        final = client.get(f"/maestro/runs/{run['id']}")
        assert final.json()["metadata"] == {f"w{i}": i for i in range(writers)}  # no lost update
        assert final.headers["etag"] == f'"v{writers + 1}"'
