"""Uploading and downloading artifact content, on the local and the S3 blob store,
on both databases: write-once, declared hashes, strictness, limits, dedup, GC,
corruption, multipart create, verified evidence and the component index."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient
from pydantic import SecretStr

from maestro.app import create_app
from maestro.blobs.base import BlobStore
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.services.blob_gc import collect_garbage
from maestro.storage import evidence as evidence_store
from tests.maestro.conftest import ALL_FLAGS
from tests.maestro.evidence import builders

SBOM = builders.dumps(builders.cyclonedx(3))
NOT_AN_SBOM = b"just a build log line\n"


@pytest.fixture
def upload_settings(settings: Settings, blob_settings: dict[str, Any]) -> Settings:
    return settings.model_copy(update={**blob_settings, "max_upload_bytes": 256 * 1024})


@pytest.fixture
def app_client(upload_settings: Settings, maestro_store: Database) -> Iterator[TestClient]:
    with TestClient(create_app(upload_settings, database=maestro_store)) as client:
        yield client


@pytest.fixture
def new_artifact(app_client: TestClient) -> Callable[..., dict[str, Any]]:
    run_id = app_client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]

    def make(kind: str = "sbom", run: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"run_id": run or run_id, "kind": kind, "path_or_uri": f"s3://x/{kind}", **fields}
        response = app_client.post("/maestro/artifacts", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make


def put(client: TestClient, artifact_id: str, data: bytes, **params: Any) -> Any:
    return client.put(
        f"/maestro/artifacts/{artifact_id}/content",
        content=data,
        params=params,
        headers={"content-type": "application/json"},
    )


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_upload_parses_and_serves_back(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    artifact = new_artifact(metadata_json={"sbom_present": True})
    response = put(app_client, artifact["id"], SBOM)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content"]["digest"] == digest_of(SBOM)
    assert body["content_hash"] == digest_of(SBOM)  # none was declared: the computed one is recorded
    assert body["content"]["size"] == len(SBOM)
    evidence = body["evidence"]
    assert evidence["format"] == "cyclonedx-json"
    assert evidence["valid"] is True
    assert evidence["verified"] == {"sbom": True, "slsa_provenance": False, "risk_assessment": False}
    assert evidence["warnings"] == []
    assert app_client.get(f"/maestro/artifacts/{artifact['id']}").json() == body
    download = app_client.get(f"/maestro/artifacts/{artifact['id']}/content")
    assert download.status_code == 200
    assert download.content == SBOM
    assert download.headers["etag"] == f'"{digest_of(SBOM)}"'
    expected = base64.b64encode(hashlib.sha256(SBOM).digest()).decode()
    assert download.headers["repr-digest"] == f"sha-256=:{expected}:"
    assert download.headers["x-content-type-options"] == "nosniff"


def test_readyz_checks_the_blob_store(app_client: TestClient, blob_backend: str) -> None:
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["blobs"].startswith("local:" if blob_backend == "local" else "s3://")


def test_readyz_reports_a_missing_bucket(
    settings: Settings, maestro_store: Database, request: pytest.FixtureRequest
) -> None:
    endpoint = request.getfixturevalue("seaweed")
    broken = settings.model_copy(
        update={"blob_url": "s3://no-such-bucket/x", "s3_endpoint_url": endpoint, "s3_region": "us-east-1",
                "s3_access_key_id": "test", "s3_secret_access_key": SecretStr("test")}
    )  # fmt: skip
    with TestClient(create_app(broken, database=maestro_store)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"] == "blob_store_unavailable"


def test_range_requests(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    artifact = new_artifact()
    put(app_client, artifact["id"], SBOM)
    url = f"/maestro/artifacts/{artifact['id']}/content"
    part = app_client.get(url, headers={"Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.content == SBOM[2:10]
    assert part.headers["content-range"] == f"bytes 2-9/{len(SBOM)}"
    assert app_client.get(url, headers={"Range": "bytes=-5"}).content == SBOM[-5:]
    unsatisfiable = app_client.get(url, headers={"Range": f"bytes={len(SBOM)}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{len(SBOM)}"
    assert app_client.get(url, headers={"Range": "bytes=1-2,4-5"}).status_code == 416


def test_content_is_write_once(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    artifact = new_artifact()
    assert put(app_client, artifact["id"], SBOM).status_code == 201
    again = put(app_client, artifact["id"], SBOM)
    assert again.status_code == 200
    different = put(app_client, artifact["id"], SBOM + b" ")
    assert different.status_code == 409
    assert different.json()["error"] == "conflict"
    assert app_client.get(f"/maestro/artifacts/{artifact['id']}/content").content == SBOM


def test_declared_hash_must_match(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    wrong = new_artifact(content_hash="sha256:" + "0" * 64)
    response = put(app_client, wrong["id"], SBOM)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "content_hash"
    assert app_client.get(f"/maestro/artifacts/{wrong['id']}").json()["content"] is None
    assert app_client.get(f"/maestro/artifacts/{wrong['id']}/content").status_code == 404
    for declared in (digest_of(SBOM), digest_of(SBOM).upper().replace("SHA256", "sha256"),
                     "sha512:" + hashlib.sha512(SBOM).hexdigest()):  # fmt: skip
        artifact = new_artifact(content_hash=declared)
        assert put(app_client, artifact["id"], SBOM).status_code == 201, declared


def test_seed_placeholder_hash_is_refused(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    artifact = new_artifact(content_hash="sha256:abc...")
    assert put(app_client, artifact["id"], SBOM).status_code == 422


def test_declared_flags_that_content_contradicts_are_warnings(
    app_client: TestClient, new_artifact: Callable[..., Any]
) -> None:
    artifact = new_artifact("sbom", metadata_json=ALL_FLAGS)
    body = put(app_client, artifact["id"], NOT_AN_SBOM).json()
    locations = {w["location"] for w in body["evidence"]["warnings"]}
    assert {"metadata_json.sbom_present", "metadata_json.slsa_provenance_present", "kind"} <= locations
    assert body["metadata_json"]["sbom_present"] is True  # the declaration is kept as made
    report = app_client.get(f"/maestro/runs/{artifact['run_id']}/manifest").json()["compliance_report"]
    row = report["artifacts"][0]
    assert row["sbom_present"] is True
    assert row["verified"]["sbom"] is False
    assert row["content_uploaded"] is True
    assert any("sbom_present" in w for w in row["warnings"])


def test_strict_refuses_and_keeps_nothing(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    artifact = new_artifact("sbom")
    response = put(app_client, artifact["id"], NOT_AN_SBOM, strict="true")
    assert response.status_code == 422
    assert "strict" in response.json()["detail"]
    assert app_client.get(f"/maestro/artifacts/{artifact['id']}").json()["content"] is None
    assert put(app_client, artifact["id"], SBOM, strict="true").status_code == 201


def test_upload_over_the_limit_is_413(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    artifact = new_artifact("build_log")
    big = b"x" * (256 * 1024 + 1)
    assert put(app_client, artifact["id"], big).status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 65536

    streamed = app_client.put(f"/maestro/artifacts/{artifact['id']}/content", content=chunks())
    assert streamed.status_code == 413
    assert app_client.get(f"/maestro/artifacts/{artifact['id']}").json()["content"] is None


def test_form_label_from_curl_is_not_kept_as_media_type(
    app_client: TestClient, new_artifact: Callable[..., Any]
) -> None:
    artifact = new_artifact("build_log")
    response = app_client.put(
        f"/maestro/artifacts/{artifact['id']}/content",
        content=b"log line\n",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert response.json()["content"]["media_type"] is None


def test_upload_to_unknown_artifact_is_404(app_client: TestClient) -> None:
    for artifact_id in ("nope", "..%2F..%2Fetc%2Fpasswd", "%252e%252e%252f", "C:%5Cwindows"):
        response = put(app_client, artifact_id, SBOM)
        assert response.status_code == 404, artifact_id


def test_identical_bytes_are_stored_once(
    app_client: TestClient, new_artifact: Callable[..., Any], maestro_store: Database
) -> None:
    first, second = new_artifact(), new_artifact()
    put(app_client, first["id"], SBOM)
    put(app_client, second["id"], SBOM)
    blobs: BlobStore = app_client.app.state.blobs  # type: ignore[attr-defined]
    assert list(blobs.iter_digests()) == [digest_of(SBOM)]


def test_garbage_collection_spares_referenced_and_leased_blobs(
    app_client: TestClient, new_artifact: Callable[..., Any], maestro_store: Database, tmp_path: Path
) -> None:
    blobs: BlobStore = app_client.app.state.blobs  # type: ignore[attr-defined]
    put(app_client, new_artifact()["id"], SBOM)
    orphan = b"no artifact will ever point at me"
    source = tmp_path / "orphan"
    source.write_bytes(orphan)
    now = datetime.now(UTC)
    with maestro_store.write() as session:
        evidence_store.lease_blob(session, digest_of(orphan), len(orphan), now, now + timedelta(hours=1))
    blobs.put_file(digest_of(orphan), source, len(orphan))
    others = [orphan + bytes([i]) for i in range(3)]
    for data in others:
        extra = tmp_path / f"extra-{data[-1]}"
        extra.write_bytes(data)
        with maestro_store.write() as session:
            evidence_store.lease_blob(session, digest_of(data), len(data), now, now + timedelta(hours=1))
        blobs.put_file(digest_of(data), extra, len(data))
    assert collect_garbage(maestro_store, blobs) == []  # leased: an upload may be about to use them
    later = now + timedelta(hours=2)
    removed = collect_garbage(maestro_store, blobs, now=later, batch=1)  # pages through every candidate
    assert sorted(removed) == sorted(digest_of(d) for d in [orphan, *others])
    assert sorted(blobs.iter_digests()) == [digest_of(SBOM)]
    assert collect_garbage(maestro_store, blobs, now=later) == []


@pytest.mark.only(blob_backend="local")  # it corrupts a file of the local blob store
def test_corrupted_bytes_are_never_served(
    app_client: TestClient, new_artifact: Callable[..., Any], blob_backend: str
) -> None:
    artifact = new_artifact()
    put(app_client, artifact["id"], SBOM)
    blobs = app_client.app.state.blobs  # type: ignore[attr-defined]
    path = blobs.root / "sha256" / digest_of(SBOM)[7:9] / digest_of(SBOM)[7:]
    path.write_bytes(SBOM.replace(b"lib1", b"evil"))
    response = app_client.get(f"/maestro/artifacts/{artifact['id']}/content")
    assert response.status_code == 500
    assert response.json()["error"] == "content_corrupt"
    assert b"evil" not in response.content


class TestMultipart:
    def test_create_and_upload_in_one_request(
        self, app_client: TestClient, new_artifact: Callable[..., Any]
    ) -> None:
        run_id = new_artifact()["run_id"]
        meta = {
            "run_id": run_id,
            "kind": "sbom",
            "path_or_uri": "s3://x/sbom.json",
            "metadata_json": {"sbom_present": True},
        }
        response = app_client.post(
            "/maestro/artifacts",
            data={"artifact": json.dumps(meta)},
            files={"file": ("sbom.json", SBOM, "application/vnd.cyclonedx+json")},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["content"]["digest"] == digest_of(SBOM)
        assert body["content"]["media_type"] == "application/vnd.cyclonedx+json"
        assert body["evidence"]["verified"]["sbom"] is True
        assert app_client.get(f"/maestro/artifacts/{body['id']}/content").content == SBOM

    @pytest.mark.parametrize(
        ("data", "files", "field"),
        [
            ({}, {"file": ("a", b"x")}, "artifact"),
            ({"artifact": "{}"}, {"file": ("a", b"x")}, "artifact.run_id"),
            ({"artifact": "not json"}, {"file": ("a", b"x")}, "artifact"),
        ],
    )
    def test_bad_forms_are_422(
        self, app_client: TestClient, data: dict[str, str], files: dict[str, Any], field: str
    ) -> None:
        response = app_client.post("/maestro/artifacts", data=data, files=files)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field
        assert app_client.get("/maestro/artifacts").json() == []

    def test_missing_file_is_422(self, app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
        run_id = new_artifact()["run_id"]
        meta = json.dumps({"run_id": run_id, "kind": "sbom", "path_or_uri": "x"})
        response = app_client.post(
            "/maestro/artifacts", data={"artifact": meta}, files={"other": ("a", b"x")}
        )
        assert response.status_code == 422

    def test_strict_failure_creates_nothing(
        self, app_client: TestClient, new_artifact: Callable[..., Any]
    ) -> None:
        run_id = new_artifact()["run_id"]
        before = len(app_client.get("/maestro/artifacts").json())
        meta = json.dumps({"run_id": run_id, "kind": "sbom", "path_or_uri": "x"})
        response = app_client.post(
            "/maestro/artifacts?strict=true", data={"artifact": meta}, files={"file": ("log", NOT_AN_SBOM)}
        )
        assert response.status_code == 422
        assert len(app_client.get("/maestro/artifacts").json()) == before

    def test_over_the_limit_is_413_and_creates_nothing(
        self, app_client: TestClient, new_artifact: Callable[..., Any]
    ) -> None:
        run_id = new_artifact()["run_id"]
        before = len(app_client.get("/maestro/artifacts").json())
        meta = json.dumps({"run_id": run_id, "kind": "build_log", "path_or_uri": "x"})
        response = app_client.post(
            "/maestro/artifacts",
            data={"artifact": meta},
            files={"file": ("big.log", b"x" * (256 * 1024 + 1))},
        )
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
        assert len(app_client.get("/maestro/artifacts").json()) == before

    def test_unknown_run_is_404(self, app_client: TestClient) -> None:
        meta = json.dumps({"run_id": "nope", "kind": "sbom", "path_or_uri": "x"})
        response = app_client.post("/maestro/artifacts", data={"artifact": meta}, files={"file": ("a", SBOM)})
        assert response.status_code == 404
        assert response.json()["detail"] == "Run not found"


class TestComponentIndex:
    def test_which_runs_contain_a_package(
        self, app_client: TestClient, new_artifact: Callable[..., Any]
    ) -> None:
        a = new_artifact()
        put(app_client, a["id"], SBOM)
        hits = app_client.get("/maestro/components", params={"purl": "pkg:pypi/lib1@1.1.0"}).json()
        assert [(h["run_id"], h["artifact_id"], h["name"], h["version"]) for h in hits] == [
            (a["run_id"], a["id"], "lib1", "1.1.0")
        ]
        assert app_client.get("/maestro/components", params={"purl": "pkg:pypi/lib1@9.9"}).json() == []
        any_version = app_client.get("/maestro/components", params={"purl": "pkg:pypi/lib1"}).json()
        assert len(any_version) == 1
        by_name = app_client.get("/maestro/components", params={"name": "lib2", "version": "1.2.0"}).json()
        assert [h["purl"] for h in by_name] == ["pkg:pypi/lib2@1.2.0"]

    @pytest.mark.parametrize("query", ["", "purl=requests", "purl=pkg:pypi/x&name=x"])
    def test_bad_component_queries_are_422(self, app_client: TestClient, query: str) -> None:
        assert app_client.get(f"/maestro/components?{query}").status_code == 422

    def test_sbom_diff(self, app_client: TestClient) -> None:
        def run_with(doc: dict[str, Any]) -> str:
            run_id = app_client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"]
            art = app_client.post(
                "/maestro/artifacts", json={"run_id": run_id, "kind": "sbom", "path_or_uri": "x"}
            ).json()
            assert put(app_client, art["id"], builders.dumps(doc)).status_code == 201
            return str(run_id)

        base = builders.cyclonedx(3)
        head = builders.cyclonedx(3)
        head["components"][1]["version"] = "9.0.0"
        head["components"][1]["purl"] = "pkg:pypi/lib1@9.0.0"
        head["components"][2] = {
            "type": "library",
            "name": "newlib",
            "purl": "pkg:npm/newlib@1.0.0",
            "version": "1.0.0",
        }
        diff = app_client.get(f"/maestro/runs/{run_with(base)}/sbom-diff/{run_with(head)}").json()
        assert [c["key"] for c in diff["added"]] == ["pkg:npm/newlib"]
        assert [c["key"] for c in diff["removed"]] == ["pkg:pypi/lib2"]
        assert diff["changed"] == [
            {"key": "pkg:pypi/lib1", "name": "lib1", "from_versions": ["1.1.0"], "to_versions": ["9.0.0"]}
        ]
        assert app_client.get(f"/maestro/runs/nope/sbom-diff/{run_with(base)}").status_code == 404


def _dsse(statement: dict[str, Any], key: ed25519.Ed25519PrivateKey, keyid: str | None = None) -> bytes:
    payload = json.dumps(statement).encode()
    kind = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    signature: dict[str, str] = {"sig": base64.b64encode(key.sign(pae)).decode()}
    if keyid:
        signature["keyid"] = keyid
    envelope = {
        "payloadType": kind.decode(),
        "payload": base64.b64encode(payload).decode(),
        "signatures": [signature],
    }
    return json.dumps(envelope).encode()


def _slsa_statement(subject_digest: str) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.whl", "digest": {"sha256": subject_digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://example.com/build/v1",
                "externalParameters": {"ref": "main"},
            },
            "runDetails": {"builder": {"id": "https://ci.example.com/builder"}},
        },
    }


def test_done_when_sbom_signed_provenance_and_risk_verify(
    app_client: TestClient, new_artifact: Callable[..., Any]
) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    added = app_client.post("/maestro/trusted-keys", json={"name": "ci", "pem": pem})
    assert added.status_code == 201, added.text
    sbom = new_artifact("sbom")
    provenance = new_artifact("slsa_provenance")
    risk = new_artifact("risk_assessment")
    assert put(app_client, sbom["id"], SBOM, strict="true").status_code == 201
    signed = put(app_client, provenance["id"], _dsse(_slsa_statement("b" * 64), key), strict="true")
    assert signed.status_code == 201, signed.text
    evidence = signed.json()["evidence"]
    assert evidence["signature"]["status"] == "verified"
    assert evidence["signature"]["key_id"] == added.json()["key_id"]
    assert evidence["verified"]["slsa_provenance"] is True
    assessed = put(app_client, risk["id"], builders.dumps(builders.risk()), strict="true")
    assert assessed.status_code == 201, assessed.text
    assert assessed.json()["evidence"]["verified"]["risk_assessment"] is True


def test_tampered_provenance_is_invalid(app_client: TestClient, new_artifact: Callable[..., Any]) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    key_id = app_client.post("/maestro/trusted-keys", json={"name": "ci", "pem": pem}).json()["key_id"]
    envelope = json.loads(_dsse(_slsa_statement("b" * 64), key, keyid=key_id))
    forged = _slsa_statement("c" * 64)
    envelope["payload"] = base64.b64encode(json.dumps(forged).encode()).decode()
    provenance = new_artifact("slsa_provenance")
    body = put(app_client, provenance["id"], json.dumps(envelope).encode()).json()
    assert body["evidence"]["signature"]["status"] == "invalid"
    assert body["evidence"]["valid"] is False
    assert body["evidence"]["verified"]["slsa_provenance"] is False
    assert (
        put(
            app_client, new_artifact("slsa_provenance")["id"], json.dumps(envelope).encode(), strict="true"
        ).status_code
        == 422
    )


class TestTrustedKeys:
    def _pem(self) -> str:
        key = ed25519.Ed25519PrivateKey.generate().public_key()
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def test_lifecycle(self, app_client: TestClient) -> None:
        pem = self._pem()
        created = app_client.post("/maestro/trusted-keys", json={"name": "release", "pem": pem})
        assert created.status_code == 201
        key = created.json()
        assert key["algorithm"] == "ed25519"
        assert len(key["key_id"]) == 64
        assert app_client.get("/maestro/trusted-keys").json() == [key]
        assert app_client.get(f"/maestro/trusted-keys/{key['id']}").json() == key
        assert (
            app_client.post("/maestro/trusted-keys", json={"name": "release", "pem": self._pem()}).status_code
            == 409
        )
        assert app_client.post("/maestro/trusted-keys", json={"name": "other", "pem": pem}).status_code == 409
        assert app_client.delete(f"/maestro/trusted-keys/{key['id']}").status_code == 204
        assert app_client.delete(f"/maestro/trusted-keys/{key['id']}").status_code == 404
        assert app_client.get("/maestro/trusted-keys").json() == []

    @pytest.mark.parametrize(
        "pem", ["not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"]
    )
    def test_bad_pem_is_422(self, app_client: TestClient, pem: str) -> None:
        response = app_client.post("/maestro/trusted-keys", json={"name": "k", "pem": pem})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "pem"
