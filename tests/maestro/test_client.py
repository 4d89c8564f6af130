"""The SDK against the real app and a fresh real database: every method, paging,
errors, the run() context manager, streamed uploads and verified downloads."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient

from maestro.client import MaestroClient, RunHandle
from maestro.client.streams import CHUNK
from maestro.errors import (
    ArtifactNotFound,
    ContentNotFound,
    DisclosurePackNotFound,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    RunNotFound,
    TrustedKeyNotFound,
    ValidationFailed,
)
from maestro.models import ArtifactCreate, RunCreate, RunStatus, RunUpdate
from tests.maestro.evidence import builders

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def maestro(client: TestClient) -> Iterator[MaestroClient]:
    with MaestroClient(http=client, backoff=0) as sdk:
        yield sdk


def write(path: Path, doc: Any) -> Path:
    path.write_bytes(builders.dumps(doc))
    return path


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


# ---------------------------------------------------------------- runs


def test_create_run_from_fields_or_model(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="nightly", owner="ci", cost_estimate=3, metadata={"k": [1]})
    assert (run.name, run.owner, run.status, run.cost_estimate) == ("nightly", "ci", "pending", 3.0)
    assert run.metadata == {"k": [1]}
    from_model = maestro.create_run(RunCreate(name="m", owner="o"), cost_estimate=1.5)
    assert (from_model.name, from_model.cost_estimate) == ("m", 1.5)


def test_get_run_and_its_etag(maestro: MaestroClient) -> None:
    created = maestro.create_run(name="n", owner="o")
    assert maestro.get_run(created.id) == created
    run, etag = maestro.get_run_with_etag(created.id)
    assert (run, etag) == (created, '"v1"')


def test_update_run_is_partial_and_honours_if_match(maestro: MaestroClient) -> None:
    created = maestro.create_run(name="n", owner="o", cost_estimate=2.0, metadata={"a": 1, "b": 2})
    _, etag = maestro.get_run_with_etag(created.id)
    updated = maestro.update_run(created.id, if_match=etag, metadata={"b": None, "c": 3})
    assert updated.metadata == {"a": 1, "c": 3}
    assert updated.cost_estimate == 2.0  # not sent, so unchanged
    with pytest.raises(PreconditionFailed) as caught:
        maestro.update_run(created.id, if_match=etag, name="stale")
    assert caught.value.status == 412
    cleared = maestro.update_run(created.id, RunUpdate(cost_estimate=None))
    assert cleared.cost_estimate is None


def test_start_and_finish_run(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="o")
    assert maestro.start_run(run.id).status == RunStatus.RUNNING
    finished = maestro.finish_run(run.id, cost_actual=8.5)
    assert finished.status == RunStatus.SUCCEEDED
    assert finished.finished_at is not None
    assert finished.cost_actual == 8.5
    with pytest.raises(InvalidTransition):
        maestro.start_run(run.id)


def test_list_runs_filters(maestro: MaestroClient) -> None:
    mine = maestro.create_run(name="a", owner="me", related_entity_ids=["e1"], related_decision_ids=["d1"])
    maestro.create_run(name="b", owner="someone-else", status="failed")
    assert [r.id for r in maestro.list_runs(owner="me")] == [mine.id]
    assert [r.id for r in maestro.list_runs(entity_id="e1")] == [mine.id]
    assert [r.id for r in maestro.list_runs(decision_id="d1")] == [mine.id]
    assert [r.name for r in maestro.list_runs(status=RunStatus.FAILED)] == ["b"]
    now = datetime.now(UTC)
    assert len(list(maestro.list_runs(started_after=now - timedelta(hours=1)))) == 2
    assert list(maestro.list_runs(started_before=now - timedelta(hours=1))) == []


def test_list_runs_follows_pages_in_order(client: TestClient, maestro: MaestroClient) -> None:
    created = [maestro.create_run(name=f"r{i}", owner="o").id for i in range(7)]
    requests: list[str] = []
    client.event_hooks["request"].append(lambda request: requests.append(str(request.url)))
    listed = [run.id for run in maestro.list_runs(order="asc", page_size=3)]
    assert listed == created
    assert len(requests) == 3
    assert "cursor=" in requests[1]
    assert [run.id for run in maestro.list_runs(page_size=2)] == created[::-1]


def test_list_limit_caps_items_and_requests(client: TestClient, maestro: MaestroClient) -> None:
    for i in range(5):
        maestro.create_run(name=f"r{i}", owner="o")
    requests: list[str] = []
    client.event_hooks["request"].append(lambda request: requests.append(str(request.url)))
    assert len(list(maestro.list_runs(limit=3, page_size=2))) == 3
    assert len(requests) == 2
    assert len(list(maestro.list_runs(limit=2, page_size=100))) == 2
    assert "limit=2" in requests[-1]
    assert list(maestro.list_runs(limit=0)) == []


def test_lists_are_lazy(client: TestClient, maestro: MaestroClient) -> None:
    requests: list[str] = []
    client.event_hooks["request"].append(lambda request: requests.append(str(request.url)))
    runs = maestro.list_runs()
    assert requests == []
    assert list(runs) == []
    assert len(requests) == 1


# ----------------------------------------------------------- artifacts


def test_create_get_and_list_artifacts(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="o")
    sbom = maestro.create_artifact(
        run_id=run.id, kind="sbom", path_or_uri="s3://a/sbom.json", metadata_json={"sbom_present": True}
    )
    assert sbom.metadata_json.sbom_present is True
    assert sbom.content is None
    log = maestro.create_artifact(ArtifactCreate(run_id=run.id, kind="build_log", path_or_uri="log.txt"))
    assert maestro.get_artifact(sbom.id) == sbom
    assert [a.id for a in maestro.list_artifacts(run_id=run.id, page_size=1)] == [log.id, sbom.id]
    assert [a.id for a in maestro.list_artifacts(kind="sbom")] == [sbom.id]


def test_attach_uploads_and_verifies_an_sbom(maestro: MaestroClient, tmp_path: Path) -> None:
    path = write(tmp_path / "sbom.cdx.json", builders.cyclonedx(3))
    run = maestro.create_run(name="n", owner="o")
    seen: list[tuple[int, int | None]] = []
    artifact = maestro.attach(
        run.id, path, kind="sbom", sbom_present=True, progress=lambda *a: seen.append(a)
    )
    assert artifact.evidence is not None
    assert artifact.evidence.verified.sbom is True
    assert artifact.evidence.format == "cyclonedx-json"
    assert artifact.path_or_uri == str(path)
    assert artifact.content_hash == sha256(path.read_bytes())
    assert artifact.content is not None
    assert artifact.content.digest == artifact.content_hash
    assert artifact.content.media_type == "application/json"
    assert artifact.metadata_json.sbom_present is True
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_attach_is_strict_by_default(maestro: MaestroClient, tmp_path: Path) -> None:
    path = tmp_path / "sbom.json"
    path.write_bytes(b"not an sbom")
    run = maestro.create_run(name="n", owner="o")
    with pytest.raises(ValidationFailed, match="strict"):
        maestro.attach(run.id, path, kind="sbom", path_or_uri="s3://x/sbom.json")
    assert list(maestro.list_artifacts(run_id=run.id)) == []  # one atomic request: nothing left behind
    lenient = maestro.attach(run.id, path, kind="sbom", strict=False, additional_metadata={"tool": "x"})
    assert lenient.evidence is not None
    assert lenient.evidence.verified.sbom is False
    assert lenient.metadata_json.additional_metadata == {"tool": "x"}


class ReadSpy(io.RawIOBase):
    """A file that records every read size, to prove the SDK never reads it whole."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("rb")
        self.sizes: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        return self.file.read(size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def close(self) -> None:
        self.file.close()
        super().close()


def test_upload_streams_in_bounded_chunks(maestro: MaestroClient, tmp_path: Path) -> None:
    data = hashlib.sha256(b"seed").digest() * (3 * CHUNK // 32 + 5)
    path = tmp_path / "big.log"
    path.write_bytes(data)
    spy = ReadSpy(path)
    run = maestro.create_run(name="n", owner="o")
    artifact = maestro.create_artifact(run_id=run.id, kind="build_log", path_or_uri="big.log")
    progress: list[tuple[int, int | None]] = []
    uploaded = maestro.upload_content(
        artifact.id,
        spy,  # type: ignore[arg-type]
        progress=lambda sent, total: progress.append((sent, total)),
    )
    assert uploaded.content is not None
    assert uploaded.content.digest == sha256(data)
    assert uploaded.content.size == len(data)
    assert len(spy.sizes) >= 4
    assert all(0 < size <= CHUNK for size in spy.sizes)  # never read(-1), never more than a chunk
    assert progress[-1] == (len(data), len(data))
    assert [total for _, total in progress] == [len(data)] * len(progress)
    spy.close()


def test_attach_after_a_lost_response_makes_one_artifact(client: TestClient, tmp_path: Path) -> None:
    """The multipart create carries an Idempotency-Key: the retry is answered by a replay."""
    path = write(tmp_path / "sbom.json", builders.cyclonedx(2))
    dropped: list[str] = []

    class DropFirstResponse(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = client._transport.handle_request(request)
            if request.method == "POST" and request.url.path == "/maestro/artifacts" and not dropped:
                response.read()
                dropped.append(request.headers["idempotency-key"])
                raise httpx.ReadError("connection lost after the server answered", request=request)
            return response

    flaky = httpx.Client(transport=DropFirstResponse(), base_url=str(client.base_url))
    with MaestroClient(http=flaky, backoff=0) as maestro:
        run = maestro.create_run(name="n", owner="o")
        artifact = maestro.attach(run.id, path, kind="sbom")
        assert dropped  # the first answer really was lost
        assert [a.id for a in maestro.list_artifacts(run_id=run.id)] == [artifact.id]
        assert artifact.evidence is not None
        assert artifact.evidence.verified.sbom is True


def test_upload_again_with_same_bytes_is_accepted(maestro: MaestroClient, tmp_path: Path) -> None:
    path = write(tmp_path / "sbom.json", builders.cyclonedx(1))
    run = maestro.create_run(name="n", owner="o")
    artifact = maestro.attach(run.id, path, kind="sbom")
    again = maestro.upload_content(artifact.id, path, media_type="application/json")
    assert again.content == artifact.content


def test_download_verifies_digest(maestro: MaestroClient, tmp_path: Path) -> None:
    path = write(tmp_path / "sbom.json", builders.cyclonedx(2))
    run = maestro.create_run(name="n", owner="o")
    artifact = maestro.attach(run.id, path, kind="sbom")
    dest = tmp_path / "out" / "copy.json"
    dest.parent.mkdir()
    digest = maestro.download_content(artifact.id, dest)
    assert digest == sha256(path.read_bytes()) == artifact.content_hash
    assert dest.read_bytes() == path.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["copy.json"]  # no partial file left
    buffer = io.BytesIO()
    assert maestro.download_content(artifact.id, buffer) == digest
    assert buffer.getvalue() == path.read_bytes()


def test_download_without_content_is_content_not_found(maestro: MaestroClient, tmp_path: Path) -> None:
    run = maestro.create_run(name="n", owner="o")
    artifact = maestro.create_artifact(run_id=run.id, kind="other", path_or_uri="x")
    with pytest.raises(ContentNotFound):
        maestro.download_content(artifact.id, tmp_path / "x")
    assert not (tmp_path / "x").exists()


# ----------------------------------------- packs, manifest, gate, components


def test_packs_manifest_and_gate(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="o")
    flags = {"sbom_present": True, "slsa_provenance_present": True, "risk_assessment_present": True}
    artifact = maestro.create_artifact(run_id=run.id, kind="other", path_or_uri="b.tgz", metadata_json=flags)
    first = maestro.create_pack(run_id=run.id, summary="first")
    second = maestro.create_pack(run_id=run.id, summary="second", artifact_ids=[], metadata={"v": 2})
    assert first.artifact_ids == [artifact.id]
    assert maestro.get_pack(second.id) == second
    assert [p.id for p in maestro.list_packs(run_id=run.id, page_size=1)] == [second.id, first.id]
    assert maestro.release_gate(run.id).passed is False
    maestro.finish_run(run.id)
    gate = maestro.release_gate(run.id)
    assert gate.passed is True
    assert gate.details.compliant_artifact_ids == [artifact.id]
    manifest = maestro.manifest(run.id)
    assert manifest.run.status == RunStatus.SUCCEEDED
    assert [a.id for a in manifest.artifacts] == [artifact.id]
    assert manifest.disclosure_pack == second
    # the same verdict, judged a moment later (the instant is part of the input, so of its digest)
    later = {"evaluated_at": None, "input_digest": None}
    assert manifest.release_gate.model_copy(update=later) == gate.model_copy(update=later)
    assert gate.policy is not None
    assert gate.policy.id == "builtin:seed-default"


def test_find_components_and_sbom_diff(maestro: MaestroClient, tmp_path: Path) -> None:
    base = maestro.create_run(name="base", owner="o")
    head = maestro.create_run(name="head", owner="o")
    maestro.attach(base.id, write(tmp_path / "base.json", builders.cyclonedx(2)), kind="sbom")
    maestro.attach(head.id, write(tmp_path / "head.json", builders.cyclonedx(3)), kind="sbom")
    matches = list(maestro.find_components(name="lib1"))
    assert sorted(m.run_id for m in matches) == sorted([base.id, head.id])
    assert {m.version for m in matches} == {"1.1.0"}
    by_purl = list(maestro.find_components(purl="pkg:pypi/lib2", page_size=1))
    assert [m.run_id for m in by_purl] == [head.id]
    assert len(list(maestro.find_components(name="lib0", version="1.0.0", page_size=1))) == 2
    diff = maestro.sbom_diff(base.id, head.id)
    assert [c.name for c in diff.added] == ["lib2"]
    assert diff.removed == []


def _public_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_trusted_keys(maestro: MaestroClient) -> None:
    added = maestro.add_trusted_key("release", _public_pem())
    assert added.name == "release"
    assert [k.id for k in maestro.list_trusted_keys()] == [added.id]
    maestro.delete_trusted_key(added.id)
    assert maestro.list_trusted_keys() == []
    with pytest.raises(TrustedKeyNotFound):
        maestro.delete_trusted_key(added.id)


def test_health(maestro: MaestroClient) -> None:
    health = maestro.health()
    assert health["status"] == "ok"
    assert health["database"] in ("sqlite", "postgresql")


# ---------------------------------------------------------------- errors


def test_errors_are_the_servers_classes_with_request_id(maestro: MaestroClient) -> None:
    with pytest.raises(RunNotFound) as run_missing:
        maestro.get_run("no-such-run")
    assert run_missing.value.status == 404
    assert REQUEST_ID.match(run_missing.value.request_id or "")
    with pytest.raises(ArtifactNotFound):
        maestro.get_artifact("nope")
    with pytest.raises(DisclosurePackNotFound):
        maestro.get_pack("nope")
    with pytest.raises(RunNotFound):
        maestro.create_artifact(run_id="nope", kind="other", path_or_uri="x")


def test_server_validation_errors_keep_their_fields(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="o")
    with pytest.raises(ValidationFailed) as caught:
        maestro.create_pack(run_id=run.id, summary="s", artifact_ids=["art-1"])
    assert caught.value.request_id is not None
    assert caught.value.errors is not None
    assert caught.value.errors[0]["field"] == "artifact_ids[0]"


def test_ids_are_quoted_into_the_path(maestro: MaestroClient) -> None:
    """An id cannot steer the request to another endpoint or add query parameters."""
    with pytest.raises(RunNotFound):
        maestro.get_run("a?c=d#e")
    with pytest.raises(NotFound):  # the server decodes %2F before routing: no route has this shape
        maestro.get_run("../artifacts")


def test_invalid_fields_are_refused_before_sending(client: TestClient, maestro: MaestroClient) -> None:
    requests: list[str] = []
    client.event_hooks["request"].append(lambda request: requests.append(str(request.url)))
    with pytest.raises(ValidationFailed) as caught:
        maestro.create_run(name="", owner="o", bogus=1)
    assert {e["field"] for e in caught.value.errors or []} == {"name", "bogus"}
    assert caught.value.request_id is None
    with pytest.raises(ValidationFailed, match=r"metadata_json\.sbom_present"):
        maestro.create_artifact(
            run_id="r", kind="sbom", path_or_uri="x", metadata_json={"sbom_present": "yes"}
        )
    assert requests == []


# ------------------------------------------------------ run() context manager


def test_run_context_succeeds(maestro: MaestroClient) -> None:
    with maestro.run("nightly", owner="ci", cost_estimate=1.0) as run:
        assert isinstance(run, RunHandle)
        assert maestro.get_run(run.id).status == RunStatus.RUNNING
        updated = run.update(cost_actual=0.5)
        assert (updated.status, updated.cost_actual) == (RunStatus.RUNNING, 0.5)
        assert run.run == updated
    assert run.run.status == RunStatus.SUCCEEDED
    stored = maestro.get_run(run.id)
    assert (stored.name, stored.owner, stored.status, stored.cost_estimate) == (
        "nightly",
        "ci",
        "succeeded",
        1.0,
    )
    assert stored.finished_at is not None
    assert "error" not in stored.metadata


def test_run_context_records_failure_and_reraises(maestro: MaestroClient) -> None:
    with pytest.raises(RuntimeError, match="boom"), maestro.run("nightly", owner="ci") as run:
        raise RuntimeError("boom\x00 \ud800")
    stored = maestro.get_run(run.id)
    assert stored.status == RunStatus.FAILED
    assert stored.metadata["error"] == {"type": "RuntimeError", "message": "boom\\x00 \\ud800"}


def test_run_context_interrupt_is_cancelled(maestro: MaestroClient) -> None:
    with pytest.raises(KeyboardInterrupt), maestro.run("nightly", owner="ci") as run:
        raise KeyboardInterrupt
    assert maestro.get_run(run.id).status == RunStatus.CANCELLED


def test_run_context_keeps_a_status_set_inside(maestro: MaestroClient) -> None:
    with maestro.run("nightly", owner="ci") as run:
        run.update(status="cancelled")
    assert maestro.get_run(run.id).status == RunStatus.CANCELLED


def test_run_context_attach(maestro: MaestroClient, tmp_path: Path) -> None:
    path = write(tmp_path / "risk.json", builders.risk())
    with maestro.run("nightly", owner="ci") as run:
        artifact = run.attach(path, kind="risk_assessment", risk_assessment_present=True)
    assert artifact.run_id == run.id
    assert artifact.evidence is not None
    assert artifact.evidence.verified.risk_assessment is True


def test_run_owner_defaults(maestro: MaestroClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAESTRO_OWNER", "from-env")
    with maestro.run("a") as run:
        pass
    assert run.run.owner == "from-env"
    monkeypatch.delenv("MAESTRO_OWNER")
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    with maestro.run("b") as run:
        pass
    assert run.run.owner == "os-user"


# ---------------------------------------------------------- configuration


def test_configuration_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAESTRO_URL", "http://maestro.example:9000")
    monkeypatch.setenv("MAESTRO_TOKEN", "secret")
    with MaestroClient() as sdk:
        assert str(sdk._transport.http.base_url) == "http://maestro.example:9000"
        assert sdk._transport.headers["Authorization"] == "Bearer secret"
    monkeypatch.delenv("MAESTRO_URL")
    monkeypatch.delenv("MAESTRO_TOKEN")
    with MaestroClient() as sdk:
        assert str(sdk._transport.http.base_url) == "http://127.0.0.1:8001"
        assert "Authorization" not in sdk._transport.headers
    with MaestroClient("http://other:1", token="t") as sdk:
        assert str(sdk._transport.http.base_url) == "http://other:1"
        assert sdk._transport.headers["Authorization"] == "Bearer t"


def test_close_leaves_a_given_http_client_open(client: TestClient) -> None:
    with MaestroClient(http=client) as sdk:
        sdk.create_run(name="n", owner="o")
    assert client.get("/healthz").status_code == 200
