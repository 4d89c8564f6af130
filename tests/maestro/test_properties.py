"""Property tests over open-ended payloads: whatever is accepted reads back exactly
as sent; whatever is refused is a 4xx with the error shape, never a 500."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import event, given
from hypothesis import strategies as st

ANY_CHAR = st.characters(codec=None, categories=None)  # includes NUL and lone surrogates
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=ANY_CHAR, max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet=ANY_CHAR, max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
texts = st.one_of(st.text(max_size=40), st.text(alphabet=ANY_CHAR, max_size=600), json_values)
costs = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**16), json_values
)
id_lists = st.one_of(st.lists(st.text(min_size=1, max_size=20), max_size=5), json_values)
metadata = st.one_of(st.dictionaries(st.text(max_size=10), json_values, max_size=5), json_values)

run_payloads = st.fixed_dictionaries(
    {"name": texts, "owner": texts},
    optional={
        "status": st.sampled_from(["pending", "running", "succeeded", "failed", "cancelled", "done", 3]),
        "cost_estimate": costs,
        "cost_actual": costs,
        "related_entity_ids": id_lists,
        "related_decision_ids": id_lists,
        "metadata": metadata,
        "unexpected": json_values,
    },
)
flag_values = st.one_of(st.booleans(), json_values)
artifact_payloads = st.fixed_dictionaries(
    {
        "kind": st.one_of(
            st.sampled_from(
                ["sbom", "slsa_provenance", "risk_assessment", "build_log", "test_report", "other"]
            ),
            json_values,
        ),
        "path_or_uri": texts,
    },
    optional={
        "content_hash": st.one_of(st.none(), texts),
        "metadata_json": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "sbom_present": flag_values,
                    "slsa_provenance_present": flag_values,
                    "risk_assessment_present": flag_values,
                    "additional_metadata": metadata,
                },
            ),
            json_values,
        ),
    },
)


def post_raw(client: TestClient, path: str, payload: Any) -> Any:
    # json.dumps escapes lone surrogates and writes NaN/Infinity literals: hostile, as sent on the wire.
    return client.post(path, content=json.dumps(payload), headers={"content-type": "application/json"})


def assert_clean_refusal(response: Any) -> None:
    event(f"refused {response.status_code}")
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body["detail"], str)
    assert isinstance(body["error"], str)


@given(payload=run_payloads)
def test_run_payloads_round_trip_or_are_refused(client: TestClient, payload: dict[str, Any]) -> None:
    response = post_raw(client, "/maestro/runs", payload)
    if response.status_code != 201:
        assert_clean_refusal(response)
        return
    event("accepted")
    run = response.json()
    stored = client.get(f"/maestro/runs/{run['id']}").json()
    assert stored == run
    for field, value in payload.items():
        assert stored[field] == value, field
    for field, default in [("metadata", {}), ("related_entity_ids", []), ("related_decision_ids", [])]:
        if field not in payload:
            assert stored[field] == default


@given(payload=artifact_payloads)
def test_artifact_payloads_round_trip_or_are_refused(client: TestClient, payload: dict[str, Any]) -> None:
    run_id = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
    response = post_raw(client, "/maestro/artifacts", {"run_id": run_id, **payload})
    if response.status_code != 201:
        assert_clean_refusal(response)
        return
    event("accepted")
    artifact = response.json()
    stored = client.get(f"/maestro/artifacts/{artifact['id']}").json()
    assert stored == artifact
    assert stored["kind"] == payload["kind"]
    assert stored["path_or_uri"] == payload["path_or_uri"]
    for flag, value in payload.get("metadata_json", {}).items():
        assert stored["metadata_json"][flag] == value


@given(patch=st.fixed_dictionaries(
    {},
    optional={
        "status": st.one_of(st.sampled_from(["running", "succeeded", "pending", "failed"]), json_values),
        "cost_actual": costs,
        "finished_at": st.one_of(st.just("2999-01-01T00:00:00Z"), st.just("2000-01-01T00:00:00Z"), texts),
        "metadata": metadata,
        "name": texts,
    },
))  # fmt: skip
def test_run_updates_apply_or_change_nothing(client: TestClient, patch: dict[str, Any]) -> None:
    run = client.post("/maestro/runs", json={"name": "n", "owner": "o", "metadata": {"keep": 1}}).json()
    before = client.get(f"/maestro/runs/{run['id']}")
    response = client.patch(
        f"/maestro/runs/{run['id']}", content=json.dumps(patch), headers={"content-type": "application/json"}
    )
    after = client.get(f"/maestro/runs/{run['id']}")
    if response.status_code != 200:
        assert_clean_refusal(response)
        assert after.json() == before.json()
        assert after.headers["etag"] == before.headers["etag"]
        return
    event("accepted")
    assert after.json() == response.json()
    if "name" in patch:
        assert after.json()["name"] == patch["name"]
