"""Idempotency-Key on creates: a retry never makes a second record."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.services import idempotency
from maestro.storage import idempotency as store

RUN = {"name": "nightly", "owner": "ci"}


def post(client: TestClient, path: str, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(path, json=body, headers=headers)


def test_same_key_same_body_replays_the_first_response(client: TestClient) -> None:
    first = post(client, "/maestro/runs", RUN, "key-1")
    second = post(client, "/maestro/runs", RUN, "key-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(client.get("/maestro/runs").json()) == 1


def test_same_key_different_body_is_422(client: TestClient) -> None:
    post(client, "/maestro/runs", RUN, "key-2")
    response = post(client, "/maestro/runs", {**RUN, "name": "other"}, "key-2")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(client.get("/maestro/runs").json()) == 1


def test_keys_are_scoped_by_path(client: TestClient) -> None:
    run = post(client, "/maestro/runs", RUN, "shared").json()
    body = {"run_id": run["id"], "kind": "other", "path_or_uri": "x"}
    assert post(client, "/maestro/artifacts", body, "shared").status_code == 201


def test_without_a_key_every_post_creates(client: TestClient) -> None:
    post(client, "/maestro/runs", RUN, None)
    post(client, "/maestro/runs", RUN, None)
    assert len(client.get("/maestro/runs").json()) == 2


def test_refusals_are_replayed_too(client: TestClient) -> None:
    body = {"run_id": "missing", "kind": "other", "path_or_uri": "x"}
    first = post(client, "/maestro/artifacts", body, "k404")
    again = post(client, "/maestro/artifacts", body, "k404")
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json()


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there"])
def test_malformed_keys_are_422(client: TestClient, key: str) -> None:
    response = client.post(
        "/maestro/runs", json=RUN, headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")}
    )
    assert response.status_code == 422
    assert client.get("/maestro/runs").json() == []


def test_multipart_creates_are_idempotent_without_buffering(client: TestClient) -> None:
    run = post(client, "/maestro/runs", RUN, None).json()
    meta = orjson.dumps({"run_id": run["id"], "kind": "build_log", "path_or_uri": "log"}).decode()
    boundary = "b0undary"

    def body(content: bytes) -> bytes:
        return (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="artifact"\r\n\r\n{meta}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="log"\r\n'
                "Content-Type: text/plain\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )

    headers = {"Idempotency-Key": "upload-1", "content-type": f"multipart/form-data; boundary={boundary}"}
    first = client.post("/maestro/artifacts", content=body(b"line one\n"), headers=headers)
    again = client.post("/maestro/artifacts", content=body(b"line one\n"), headers=headers)
    other = client.post("/maestro/artifacts", content=body(b"line two\n"), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422
    assert len(client.get("/maestro/artifacts").json()) == 1


def _old_record(store_db: Database, key: str, status: int | None, when: datetime) -> None:
    with store_db.write() as session:
        store.insert_record(
            session,
            "default",
            store.IdempotencyRecord("POST /maestro/runs", key, "0" * 64, status, b"{}", {}, when),
        )


def test_in_flight_marker_of_an_older_release_is_taken_over(
    client: TestClient, maestro_store: Database
) -> None:
    _old_record(maestro_store, "busy", None, datetime.now(UTC))  # markers were written before the request ran
    response = post(client, "/maestro/runs", RUN, "busy")
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert post(client, "/maestro/runs", RUN, "busy").headers["idempotent-replayed"] == "true"
    assert len(client.get("/maestro/runs").json()) == 1


def test_concurrent_retries_create_one_run(client: TestClient) -> None:
    """Optimistic: every attempt runs, the first to commit wins, the rest roll back and
    replay its response (never a second run, never a different answer)."""
    barrier = threading.Barrier(6)
    responses: list[Any] = []

    def attempt() -> None:
        barrier.wait()
        responses.append(post(client, "/maestro/runs", RUN, "race"))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in responses] == [201] * 6
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert len(client.get("/maestro/runs").json()) == 1


def test_a_refused_request_records_its_answer_and_nothing_else(client: TestClient) -> None:
    """A 4xx is recorded (a retry gets the same refusal) while the request's own writes,
    if any, are rolled back with it."""
    bad = {"run_id": "no-such-run", "kind": "build_log", "path_or_uri": "file:///log"}
    first = post(client, "/maestro/artifacts", bad, "refused")
    again = post(client, "/maestro/artifacts", bad, "refused")
    assert first.status_code == again.status_code == 404
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_expired_keys_are_purged_and_reusable(client: TestClient, maestro_store: Database) -> None:
    post(client, "/maestro/runs", RUN, "fresh")
    long_ago = datetime.now(UTC) - idempotency.TTL - timedelta(minutes=1)
    _old_record(maestro_store, "stale", 201, long_ago)
    assert (
        post(client, "/maestro/runs", {**RUN, "name": "new"}, "stale").status_code == 201
    )  # expired: a new request
    _old_record(maestro_store, "stale2", 201, long_ago)
    assert idempotency.purge_expired(maestro_store, datetime.now(UTC)) == 1
    assert post(client, "/maestro/runs", RUN, "fresh").headers["idempotent-replayed"] == "true"
