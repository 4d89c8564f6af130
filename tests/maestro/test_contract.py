"""The OpenAPI document is the contract: every status documented with the one error
body, the rules the server enforces stated in the schema, 405 with a full ``Allow``,
HEAD wherever GET, and timestamps that are RFC 3339 strings only."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from maestro.models import CONTENT_HASH_PATTERN, HASH_FORMS, NO_NUL
from tests.maestro.conftest import ROOT
from tests.maestro.test_hostile_parameters import SPEC, _json_body, _operations, _resolve, _url

ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.mark.parametrize(("method", "path", "operation"), list(_operations()), ids=lambda v: str(v)[:40])
def test_every_operation_documents_its_errors_with_the_error_body(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    responses = operation["responses"]
    for status, response in responses.items():
        if status[0] in "45":
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, status
    body = operation.get("requestBody", {}).get("content", {})
    expected = {"414", "431"}
    if body:
        expected |= {"400", "413", "422"}
    if "application/json" in body:
        expected.add("415")
    if any(p["in"] == "path" for p in operation.get("parameters", [])):
        expected |= {"404", "422"}
    if path not in ("/healthz", "/"):
        expected.add("503")
    assert expected <= responses.keys(), (method, path)


def test_fastapis_own_validation_schema_is_gone() -> None:
    assert "HTTPValidationError" not in json.dumps(SPEC)


def test_schema_states_the_rules_the_server_enforces() -> None:
    schemas = SPEC["components"]["schemas"]
    update = schemas["RunUpdate"]["properties"]
    for field in ("name", "status", "related_entity_ids", "related_decision_ids", "metadata", "depends_on"):
        assert "null" not in json.dumps(update[field]), field  # may be omitted, never null
    assert "null" in json.dumps(update["cost_actual"])  # null clears a cost
    assert update["related_entity_ids"]["uniqueItems"] is True
    assert update["name"]["pattern"] == NO_NUL
    integer = next(o for o in schemas["JsonValue-Input"]["anyOf"] if o.get("type") == "integer")
    assert integer["maximum"] == 2**63 - 1  # exactly, not rounded through a float
    assert (
        schemas["ArtifactCreate"]["properties"]["content_hash"]["anyOf"][0]["pattern"] == CONTENT_HASH_PATTERN
    )
    assert "BEGIN PUBLIC KEY" in schemas["TrustedKeyCreate"]["properties"]["pem"]["pattern"]
    cursor = next(p for p in SPEC["paths"]["/maestro/runs"]["get"]["parameters"] if p["name"] == "cursor")
    assert "pattern" in json.dumps(cursor["schema"])
    started = next(o for o in schemas["RunCreate"]["properties"]["started_at"]["anyOf"] if "format" in o)
    assert started == {**started, "type": "string", "format": "date-time"}


@pytest.mark.parametrize("path", list(SPEC["paths"]))
def test_405_allows_every_method_of_the_path(client: TestClient, path: str) -> None:
    declared = {m.upper() for m in SPEC["paths"][path]} | (
        {"HEAD"} if "get" in SPEC["paths"][path] else set()
    )
    response = client.request("TRACE", _url(path))
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == declared
    assert response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/maestro/artifacts/x/content"), ("PUT", "/maestro/runs"), ("DELETE", "/maestro/runs/x")],
)
def test_undeclared_method_is_405_whatever_the_body(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, content=b"\x89PNG", headers={"content-type": "image/png"})
    assert response.status_code == 405, response.text


def test_declared_method_with_a_non_json_body_is_still_415(client: TestClient) -> None:
    response = client.post("/maestro/runs", content=b"<run/>", headers={"content-type": "application/xml"})
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_undecodable_body_is_a_documented_400(client: TestClient) -> None:
    response = client.post(
        "/maestro/runs", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "400" in SPEC["paths"]["/maestro/runs"]["post"]["responses"]
    assert response.json() == {
        "detail": "The request body could not be decoded (JSON must be UTF-8)",
        "error": "bad_request",
    }


GET_PATHS = [path for method, path, _ in _operations() if method == "get"]


@pytest.mark.parametrize("path", GET_PATHS)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    got, head = client.get(_url(path)), client.head(_url(path))
    assert head.status_code == got.status_code
    assert head.content == b""
    if path != "/readyz":  # its body carries how long the checks took ("ms"), so its length varies
        assert head.headers.get("content-length") == got.headers.get("content-length")
    else:
        assert int(head.headers["content-length"]) > 0
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_of_existing_resources(client: TestClient, make_run: Any) -> None:
    run = make_run()
    response = client.head(f"/maestro/runs/{run['id']}")
    assert response.status_code == 200
    assert response.headers["etag"] == '"v1"'
    assert int(response.headers["content-length"]) == len(client.get(f"/maestro/runs/{run['id']}").content)
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code == 200


@pytest.mark.parametrize(
    "stamp", [0, 1.5, True, "1700000000", "2026-01-01", "2026-01-01T00:00:00", "yesterday"]
)
def test_timestamps_are_rfc3339_strings_with_a_zone(client: TestClient, stamp: Any) -> None:
    response = client.post("/maestro/runs", json={"name": "n", "owner": "o", "started_at": stamp})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "started_at"


offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2025, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


def _rfc3339(moment: datetime, offset: timedelta) -> str:
    return moment.astimezone(timezone(offset)).isoformat()


@given(moment=moments, offset=offsets)
def test_a_timestamp_means_the_same_instant_in_any_offset(
    client: TestClient, moment: datetime, offset: timedelta
) -> None:
    created = client.post(
        "/maestro/runs", json={"name": "n", "owner": "o", "started_at": _rfc3339(moment, offset)}
    )
    assert created.status_code == 201, created.text
    assert datetime.fromisoformat(created.json()["started_at"]) == moment
    for name in ("started_after", "started_before"):
        in_utc = client.get("/maestro/runs", params={name: _rfc3339(moment, timedelta(0))}).json()
        shifted = client.get("/maestro/runs", params={name: _rfc3339(moment, offset)}).json()
        assert shifted == in_utc, name


def test_patch_refuses_null_where_the_schema_says_so(client: TestClient, make_run: Any) -> None:
    run = make_run()
    for field in ("name", "status", "related_entity_ids", "related_decision_ids", "metadata", "depends_on"):
        response = client.patch(f"/maestro/runs/{run['id']}", json={field: None})
        assert response.status_code == 422, field
        assert response.json()["errors"][0] == {
            "field": field,
            "message": "may not be null",
            "type": "null_forbidden",
        }
    assert client.patch(f"/maestro/runs/{run['id']}", json={"cost_actual": None}).status_code == 200


@pytest.mark.parametrize(
    "content_hash",
    [
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
        "sha3-256:abc",
        "SHA256:abc",
        "sha256-abc",
        "sha256:",
        "not a hash",
    ],
)
def test_unverifiable_content_hash_is_refused_at_create(
    client: TestClient, make_run: Any, content_hash: str
) -> None:
    run = make_run()
    body = {"run_id": run["id"], "kind": "sbom", "path_or_uri": "s3://a/b", "content_hash": content_hash}
    response = client.post("/maestro/artifacts", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "content_hash"
    assert all(form in error["message"] for form in HASH_FORMS)
    multipart = client.post(
        "/maestro/artifacts", data={"artifact": json.dumps(body)}, files={"file": ("f", b"{}", "text/plain")}
    )
    assert multipart.status_code == 422
    assert multipart.json()["errors"][0]["field"] == "artifact.content_hash"


@pytest.mark.parametrize(
    "content_hash",
    ["sha256:" + "a" * 64, "sha512-" + "B" * 128, "sha1:" + "0" * 40, "abcdef", "sha256:abc..."],
)
def test_verifiable_content_hash_forms_are_accepted(
    client: TestClient, make_run: Any, content_hash: str
) -> None:
    body = {
        "run_id": make_run()["id"],
        "kind": "sbom",
        "path_or_uri": "s3://a/b",
        "content_hash": content_hash,
    }
    assert client.post("/maestro/artifacts", json=body).status_code == 201


@given(value=st.text(min_size=1, max_size=80))
def test_content_hash_schema_and_validator_agree(client: TestClient, value: str) -> None:
    from maestro.models import ArtifactCreate

    try:
        ArtifactCreate(run_id="r", kind="sbom", path_or_uri="p", content_hash=value)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == bool(re.fullmatch(CONTENT_HASH_PATTERN, value) and "\x00" not in value)


def test_schemathesis_exclusions_are_narrow_and_explained() -> None:
    raw = (ROOT / "schemathesis.toml").read_text()
    config = tomllib.loads(raw)
    labels = {f"{method.upper()} {path}" for method, path, _ in _operations()}
    blocks = raw.split("[[operations]]")[1:]
    assert len(blocks) == len(config["operations"])
    for block, entry in zip(blocks, config["operations"], strict=True):
        assert set(entry) in ({"include-name", "checks"}, {"include-name", "parameters"}), entry
        assert entry["include-name"] in labels
        assert len(entry.get("checks", entry.get("parameters"))) == 1, entry  # one rule per entry
        assert any(line.startswith("# ") for line in block.splitlines()), f"no reason for {entry}"
    assert config["checks"] == {"enabled": True}


def test_example_key_in_the_schema_is_accepted(client: TestClient) -> None:
    example = SPEC["components"]["schemas"]["TrustedKeyCreate"]["examples"][0]
    assert client.post("/maestro/trusted-keys", json=example).status_code == 201


def test_json_bodies_are_found_for_every_write() -> None:
    writes = [(m, p) for m, p, op in _operations() if m in ("post", "patch") and _json_body(op) is not None]
    assert ("patch", "/maestro/runs/{run_id}") in writes
    assert _resolve({"$ref": "#/components/schemas/RunCreate"})["additionalProperties"] is False


@pytest.mark.parametrize("number", ["9223372036854775808", "-9223372036854775808", "1" + "0" * 40])
def test_integers_beyond_64_bits_are_refused_in_metadata(client: TestClient, number: str) -> None:
    body = '{"name": "n", "owner": "o", "metadata": {"big": ' + number + "}}"
    response = client.post("/maestro/runs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "metadata"
    ok = client.post(
        "/maestro/runs", json={"name": "n", "owner": "o", "metadata": {"x": 1.5e300, "y": 2**63 - 1}}
    )
    assert ok.status_code == 201


def test_conditional_and_partial_answers_are_documented() -> None:
    assert "304" in SPEC["paths"]["/maestro/runs/{run_id}"]["get"]["responses"]
    download = SPEC["paths"]["/maestro/artifacts/{artifact_id}/content"]["get"]["responses"]
    assert {"200", "206", "304", "404", "416"} <= download.keys()
    assert "content" not in download["304"]
