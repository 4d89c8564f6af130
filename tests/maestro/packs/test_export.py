"""GET /maestro/disclosure-packs/{id}/export -> `maestro pack verify`: the archive an
auditor checks offline, and each way of tampering with it that must fail, by name."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from maestro.cli import cli
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.pack_archive import layout
from maestro.pack_archive.verify import parse_keys, verify
from maestro.tenancy.roles import Role
from tests.maestro.packs import archives
from tests.maestro.tenancy.helpers import bearer, issue


@pytest.fixture
def pack(client: TestClient) -> dict[str, Any]:
    return archives.make_pack(client)


@pytest.fixture
def exported(client: TestClient, pack: dict[str, Any], tmp_path: Path) -> Path:
    return archives.export(client, pack["id"], tmp_path / "pack.tar.gz")


@pytest.fixture
def keys_json(client: TestClient, tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    path.write_bytes(client.get("/maestro/keys").content)
    return path


def _problems(path: Path, keys: Path) -> list[str]:
    verdict = verify(path, parse_keys(keys.read_bytes()))
    return verdict.problems


def test_an_export_verifies_offline(exported: Path, keys_json: Path, pack: dict[str, Any]) -> None:
    verdict = verify(exported, parse_keys(keys_json.read_bytes()))
    assert verdict.ok, verdict.problems
    assert (verdict.pack_id, verdict.files) == (pack["id"], 5)
    assert (
        verdict.events >= 1 + 2 * 2 + 1
    )  # run, each artifact created and given content, the third, the pack


def test_members_manifest_and_events(exported: Path, pack: dict[str, Any]) -> None:
    with tarfile.open(exported) as archive:
        infos = archive.getmembers()
    names = [m.name for m in infos]
    ids = pack["artifact_ids"]
    assert names == [
        layout.MANIFEST,
        f"artifacts/{ids[0]}/sbom.json",
        f"artifacts/{ids[1]}/build.log",
        layout.CHECKPOINT,
        layout.EVENTS,
        layout.ATTESTATION,
    ]
    assert all(m.isreg() and m.mode == 0o644 and m.uid == 0 and m.uname == "" for m in infos)
    assert len({m.mtime for m in infos}) == 1
    contents = archives.members(exported)
    assert contents[names[1]] == archives.BLOBS["sbom.json"]
    manifest = json.loads(contents[layout.MANIFEST])
    assert manifest["pack"]["id"] == pack["id"]
    assert [e["artifact"]["id"] for e in manifest["artifacts"]] == ids
    assert manifest["artifacts"][2] | {"artifact": None} == {"artifact": None, "sha256": None, "file": None}
    assert manifest["release_gate"]["passed"] is False  # the run never succeeded
    events = json.loads(contents[layout.EVENTS])
    actions = [e["event"]["action"] for e in events["events"]]
    assert actions[0] == "run.create"
    requests = [a for a in actions if a != "gate.evaluated"]
    assert requests[-1] == "disclosure_pack.create"
    # the archived verdict is the newest recorded one, and its event is in the archived log
    assert manifest["release_gate_evaluation"]["id"]
    judged = [e["event"] for e in events["events"] if e["event"]["action"] == "gate.evaluated"]
    assert judged[-1]["object"] == {"type": "run", "id": manifest["run"]["id"]}
    assert judged[-1]["state_sha256"] == layout.gate_digest(manifest["release_gate"])
    assert all(e["event"]["tenant_id"] == "default" for e in events["events"])


def test_member_order_and_bytes_are_deterministic(
    client: TestClient, pack: dict[str, Any], exported: Path, tmp_path: Path
) -> None:
    again = archives.export(client, pack["id"], tmp_path / "again.tar.gz")
    first, second = archives.members(exported), archives.members(again)
    assert list(first) == list(second)
    assert all(first[n] == second[n] for n in first if n.startswith("artifacts/"))
    assert first[layout.EVENTS] == second[layout.EVENTS]


def test_a_passing_gate_is_a_passing_vsa(client: TestClient, tmp_path: Path, keys_json: Path) -> None:
    pack = archives.make_pack(client)
    client.patch(f"/maestro/runs/{pack['run_id']}", json={"status": "running"})
    assert client.patch(f"/maestro/runs/{pack['run_id']}", json={"status": "succeeded"}).status_code == 200
    path = archives.export(client, pack["id"], tmp_path / "p.tar.gz")
    verdict = verify(path, parse_keys(keys_json.read_bytes()))
    assert verdict.ok, verdict.problems
    assert verdict.gate_passed is True
    manifest = json.loads(archives.members(path)[layout.MANIFEST])
    assert manifest["release_gate"]["passed"] is True
    # the events of the run's later changes are in the export too
    actions = [e["event"]["action"] for e in json.loads(archives.members(path)[layout.EVENTS])["events"]]
    assert actions.count("run.update") == 2


def test_another_tenants_pack_is_not_found(client: TestClient, maestro_store: Database) -> None:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta_viewer = bearer(issue(maestro_store, Role.VIEWER, "beta"))
    alpha_viewer = bearer(issue(maestro_store, Role.VIEWER, "alpha"))
    pack = archives.make_pack(client, alpha)
    response = client.get(f"/maestro/disclosure-packs/{pack['id']}/export", headers=beta_viewer)
    assert response.status_code == 404
    assert response.json()["error"] == "disclosure_pack_not_found"
    own = client.get(f"/maestro/disclosure-packs/{pack['id']}/export", headers=alpha_viewer)
    assert own.status_code == 200  # a viewer may export


def test_an_unknown_pack_is_not_found(client: TestClient) -> None:
    response = client.get("/maestro/disclosure-packs/nope/export")
    assert response.status_code == 404
    assert response.json() == {"detail": "Disclosure pack not found", "error": "disclosure_pack_not_found"}


def test_the_cli_verifies_with_a_pem_or_the_keys_json(
    exported: Path, keys_json: Path, tmp_path: Path
) -> None:
    pem = tmp_path / "key.pem"
    pem.write_text(json.loads(keys_json.read_text())[0]["pem"])
    for group in ("pack", "packs"):
        for key in (pem, keys_json):
            result = CliRunner().invoke(cli, [group, "verify", str(exported), "--key", str(key)])
            assert result.exit_code == 0, result.output
            assert result.stdout.startswith("VERIFIED: pack ")


def test_the_cli_fails_naming_the_file(exported: Path, keys_json: Path, tmp_path: Path) -> None:
    def drop_events(m: archives.Members) -> None:
        del m[layout.EVENTS]

    bad = archives.rewrite(exported, tmp_path / "bad.tar.gz", drop_events)
    result = CliRunner().invoke(cli, ["pack", "verify", str(bad), "--key", str(keys_json)])
    assert result.exit_code == 1
    assert result.stderr.startswith("FAILED: ")
    assert f"{layout.EVENTS}: listed in the signed statement but missing from the archive" in result.stderr


def test_the_cli_refuses_an_unreadable_key(exported: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    result = CliRunner().invoke(cli, ["pack", "verify", str(exported), "--key", str(junk)])
    assert result.exit_code == 2
    assert "junk.pem" in result.output


def _other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _blob_name(m: archives.Members) -> str:
    return next(n for n in m if n.startswith("artifacts/"))


def _flip_byte(m: archives.Members, name: str) -> None:
    data = bytearray(m[name])
    data[len(data) // 2] ^= 0x01
    m[name] = bytes(data)


def _edit_json(m: archives.Members, name: str, change: Callable[[Any], None]) -> None:
    doc = json.loads(m[name])
    change(doc)
    m[name] = json.dumps(doc).encode()


def _alter_event(doc: Any) -> None:
    doc["events"][0]["event"]["actor"]["role"] = "viewer"


def _alter_event_and_leaf(doc: Any) -> None:
    from maestro.audit.event import parse

    item = doc["events"][0]
    item["event"]["actor"]["role"] = "viewer"
    item["leaf_hash"] = parse(item["event"]).leaf_hash().hex()


def _pass_the_gate(doc: Any) -> None:
    doc["release_gate"]["passed"] = True


def _alter_checkpoint(m: archives.Members) -> None:
    head, size, rest = m[layout.CHECKPOINT].decode().split("\n", 2)
    m[layout.CHECKPOINT] = f"{head}\n{int(size) + 1}\n{rest}".encode()


# (name, edit, sign the attestation again with: None | "server" | "other", expected message)
TAMPERS: list[tuple[str, Callable[[archives.Members], None], str | None, str]] = [
    ("blob byte", lambda m: _flip_byte(m, _blob_name(m)), None, "artifacts/{blob}: its sha256 "),
    ("manifest byte", lambda m: _flip_byte(m, layout.MANIFEST), None, "manifest.json: its sha256 "),
    (
        "removed file",
        lambda m: m.pop(_blob_name(m)),
        None,
        "artifacts/{blob}: listed in the signed statement",
    ),
    (
        "added file",
        lambda m: m.update({"notes.txt": b"trust me"}),
        None,
        "notes.txt: in the archive but not in the signed statement",
    ),
    (
        "re-signed by another key",
        lambda m: _flip_byte(m, layout.MANIFEST),
        "other",
        "attestation.dsse.json: no signature verifies with the given key(s)",
    ),
    (
        "altered audit event",
        lambda m: _edit_json(m, layout.EVENTS, _alter_event),
        "server",
        "its fields do not hash to its leaf hash (edited)",
    ),
    (
        "altered audit event and leaf",
        lambda m: _edit_json(m, layout.EVENTS, _alter_event_and_leaf),
        "server",
        "(run.create): not included in the signed checkpoint",
    ),
    (
        "altered checkpoint",
        _alter_checkpoint,
        "server",
        "audit/checkpoint.txt: not signed by any of the given keys (or altered)",
    ),
    (
        "VSA not matching the manifest",
        lambda m: _edit_json(m, layout.MANIFEST, _pass_the_gate),
        "server",
        "release_gate_vsa: the VSA was signed for another release gate answer than the manifest's",
    ),
]


@pytest.mark.only(backend="sqlite")  # the archive is checked offline: one database makes it
@pytest.mark.parametrize(
    ("edit", "sign_with", "expected"), [t[1:] for t in TAMPERS], ids=[t[0] for t in TAMPERS]
)
def test_each_tamper_fails_with_its_message(
    exported: Path,
    keys_json: Path,
    settings: Settings,
    tmp_path: Path,
    edit: Callable[[archives.Members], None],
    sign_with: str | None,
    expected: str,
) -> None:
    key = {None: None, "server": archives.server_key(settings.data_dir), "other": _other_key()}[sign_with]
    blob = _blob_name(archives.members(exported)).removeprefix("artifacts/")
    bad = archives.rewrite(exported, tmp_path / "bad.tar.gz", edit, key)
    problems = _problems(bad, keys_json)
    assert any(expected.format(blob=blob) in p for p in problems), problems


@pytest.mark.only(backend="sqlite")
def test_the_vsa_result_must_match_the_gate_answer(
    exported: Path, keys_json: Path, settings: Settings, tmp_path: Path
) -> None:
    bad = archives.rewrite(
        exported,
        tmp_path / "bad.tar.gz",
        lambda m: _edit_json(m, layout.MANIFEST, _pass_the_gate),
        archives.server_key(settings.data_dir),
    )
    assert any(
        "the VSA says FAILED, the manifest's gate answer passed=True" in p for p in _problems(bad, keys_json)
    )


@pytest.mark.only(backend="sqlite")
def test_another_key_fails_every_signature(exported: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(_other_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    problems = _problems(exported, other)
    assert "attestation.dsse.json: no signature verifies with the given key(s)" in problems
    assert "audit/checkpoint.txt: not signed by any of the given keys (or altered)" in problems
    assert any(p.startswith("manifest.json: release_gate_vsa: no signature verifies") for p in problems)


@pytest.mark.only(backend="sqlite")
def test_an_untouched_repack_still_verifies(exported: Path, keys_json: Path, tmp_path: Path) -> None:
    """The rewrite helper alone changes nothing the verifier checks: each tamper above is its edit."""
    same = archives.rewrite(exported, tmp_path / "same.tar.gz", lambda m: None)
    assert _problems(same, keys_json) == []


@pytest.mark.only(backend="sqlite", blob_backend="s3")
def test_an_export_from_s3_blobs_verifies(
    settings: Settings, maestro_store: Database, blob_settings: dict[str, Any], tmp_path: Path
) -> None:
    from maestro.app import create_app

    s3_settings = settings.model_copy(update=blob_settings)
    with TestClient(create_app(s3_settings, database=maestro_store)) as s3_client:
        pack = archives.make_pack(s3_client)
        path = archives.export(s3_client, pack["id"], tmp_path / "s3.tar.gz")
        keys = parse_keys(s3_client.get("/maestro/keys").content)
    verdict = verify(path, keys)
    assert verdict.ok, verdict.problems
    assert (
        archives.members(path)[f"artifacts/{pack['artifact_ids'][0]}/sbom.json"]
        == archives.BLOBS["sbom.json"]
    )


def test_the_sdk_and_cli_export_to_a_file(
    client: TestClient, pack: dict[str, Any], keys_json: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maestro.client import MaestroClient
    from maestro.errors import DisclosurePackNotFound
    from tests.maestro.test_cli_support import wire

    with MaestroClient("http://testserver", http=client) as sdk:
        path = sdk.export_pack(pack["id"], tmp_path / "sdk.tar.gz")
        assert verify(path, parse_keys(keys_json.read_bytes())).ok
        with pytest.raises(DisclosurePackNotFound):
            sdk.export_pack("nope", tmp_path / "nope.tar.gz")
        assert not (tmp_path / "nope.tar.gz").exists()
    mcli = wire(client, monkeypatch, tmp_path)
    out = tmp_path / "cli.tar.gz"
    assert (
        f"exported pack {pack['id']} to {out}"
        in mcli.ok("packs", "export", pack["id"], "-o", str(out)).stdout
    )
    mcli.ok("pack", "verify", str(out), "--key", str(keys_json))


@pytest.mark.only(backend="sqlite")
def test_a_corrupted_blob_never_gets_signed(
    client: TestClient,
    pack: dict[str, Any],
    keys_json: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A blob changed in the store ends the stream early: no attestation vouches for it."""
    store = client.app.state.blobs  # type: ignore[attr-defined]
    artifact = client.get(f"/maestro/artifacts/{pack['artifact_ids'][1]}").json()
    path = store.local_path(artifact["content"]["digest"])
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    response = client.get(f"/maestro/disclosure-packs/{pack['id']}/export")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(response.content)
    problems = _problems(broken, keys_json)
    assert problems
    assert problems[0].startswith("archive refused: not a readable tar.gz")
    assert any("pack export aborted" in r.getMessage() for r in caplog.records)


@pytest.mark.only(backend="sqlite")
def test_a_manifest_must_describe_one_pack(
    exported: Path, keys_json: Path, settings: Settings, tmp_path: Path
) -> None:
    def drop_artifact(doc: Any) -> None:
        doc["artifacts"].pop()

    bad = archives.rewrite(
        exported,
        tmp_path / "bad.tar.gz",
        lambda m: _edit_json(m, layout.MANIFEST, drop_artifact),
        archives.server_key(settings.data_dir),
    )
    assert "manifest.json: the artifacts listed are not the pack's artifact_ids" in _problems(bad, keys_json)


def test_verify_refuses_a_missing_file(tmp_path: Path, keys_json: Path) -> None:
    result = CliRunner().invoke(
        cli, ["pack", "verify", str(tmp_path / "none.tar.gz"), "--key", str(keys_json)]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output
