"""``maestro audit export`` and ``verify``: a real export, tampered by editing the file,
is caught at the right index with the right diagnosis; exit 0 ok, 1 tampered, 2 usage."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi.testclient import TestClient

from maestro.audit import checkpoint, merkle, signing_key
from maestro.audit.event import from_draft, parse
from maestro.audit.verify import FORMAT
from maestro.config import Settings
from maestro.db.engine import Database
from tests.maestro.audit_support import draft, record
from tests.maestro.test_cli_support import Cli, wire

Export = dict[str, Any]


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


@pytest.fixture
def key_file(client: TestClient, tmp_path: Path) -> Path:
    path = tmp_path / "audit.pub"
    path.write_text(client.get("/maestro/keys").json()[0]["pem"])
    return path


def _server_key(settings: Settings) -> Ed25519PrivateKey:
    key = load_pem_private_key((settings.data_dir / "keys" / "signing-key.pem").read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _export(mcli: Cli, path: Path) -> Export:
    mcli.ok("audit", "export", "-o", str(path))
    export: Export = json.loads(path.read_text())
    return export


def _verify(mcli: Cli, export: Export, key: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(export))
    result = mcli("audit", "verify", str(path), "--key", str(key), *extra)
    return result.exit_code, result.stdout + result.stderr


def test_an_untouched_export_verifies(
    mcli: Cli, maestro_store: Database, key_file: Path, tmp_path: Path
) -> None:
    record(maestro_store, "default", 40, batch=3)
    export = _export(mcli, tmp_path / "audit.json")
    assert export["tenant_id"] == "default"
    assert [e["index"] for e in export["events"]] == list(range(40))
    result = mcli("audit", "verify", str(tmp_path / "audit.json"), "--key", str(key_file))
    assert result.exit_code == 0, result.stderr
    assert "OK: 40 event(s) of maestro.local/audit/default" in result.stdout


def _edit(export: Export) -> None:
    export["events"][12]["event"]["action"] = "run.delete"


def _edit_and_rehash(export: Export) -> None:
    item = export["events"][12]
    item["event"]["request_id"] = "req-forged"
    item["leaf_hash"] = parse(item["event"]).leaf_hash().hex()


def _delete(export: Export) -> None:
    del export["events"][9]


def _cut_tail(export: Export) -> None:
    del export["events"][30:]


def _swap(export: Export) -> None:
    events = export["events"]
    events[5], events[21] = events[21], events[5]


def _insert(export: Export) -> None:
    forged = parse({**export["events"][10]["event"], "request_id": "req-forged"})
    item = {"index": 10, "leaf_hash": forged.leaf_hash().hex(), "event": forged.to_json()}
    export["events"].insert(10, item)


def _another_tenant(export: Export) -> None:
    for item in export["events"]:
        item["event"]["tenant_id"] = "other"
        item["leaf_hash"] = parse(item["event"]).leaf_hash().hex()
    export["tenant_id"] = "other"


@pytest.mark.parametrize(
    ("tamper", "kind", "index"),
    [
        (_edit, "edited", 12),
        (_edit_and_rehash, "rewritten", None),
        (_delete, "deleted", 9),
        (_cut_tail, "truncated", 30),
        (_swap, "swapped", 5),
        (_insert, "inserted", 10),
        (_another_tenant, "wrong_tenant", None),
    ],
)
def test_each_tamper_is_named_at_its_index(
    mcli: Cli,
    maestro_store: Database,
    key_file: Path,
    tmp_path: Path,
    tamper: Callable[[Export], None],
    kind: str,
    index: int | None,
) -> None:
    record(maestro_store, "default", 40, batch=4)
    export = _export(mcli, tmp_path / "audit.json")
    tamper(export)
    status, output = _verify(mcli, export, key_file, tmp_path)
    where = "" if index is None else f" at index {index}"
    assert status == 1
    assert f"TAMPERED ({kind}){where}:" in output


def test_a_checkpoint_signed_by_another_key_is_refused(
    mcli: Cli, maestro_store: Database, key_file: Path, tmp_path: Path
) -> None:
    record(maestro_store, "default", 5)
    export = _export(mcli, tmp_path / "audit.json")
    cp = checkpoint.parse_checkpoint(export["checkpoint"].split("\n\n")[0] + "\n")
    export["checkpoint"] = checkpoint.sign(cp, cp.origin, Ed25519PrivateKey.generate())
    status, output = _verify(mcli, export, key_file, tmp_path)
    assert (status, "TAMPERED (wrong_key)" in output) == (1, True)


def test_a_checkpoint_of_another_tenant_is_refused(
    mcli: Cli, maestro_store: Database, settings: Settings, key_file: Path, tmp_path: Path
) -> None:
    record(maestro_store, "default", 5)
    export = _export(mcli, tmp_path / "audit.json")
    cp = checkpoint.parse_checkpoint(export["checkpoint"].split("\n\n")[0] + "\n")
    theirs = checkpoint.Checkpoint("maestro.local/audit/other", cp.size, cp.root)
    export["checkpoint"] = checkpoint.sign(theirs, theirs.origin, _server_key(settings))
    status, output = _verify(mcli, export, key_file, tmp_path)
    assert status == 1
    assert "TAMPERED (wrong_tenant): the checkpoint is for 'maestro.local/audit/other'" in output


def test_since_proves_growth_and_catches_a_restored_snapshot(
    mcli: Cli, maestro_store: Database, settings: Settings, key_file: Path, tmp_path: Path
) -> None:
    record(maestro_store, "default", 20)
    old = _export(mcli, tmp_path / "old.json")
    (tmp_path / "old.checkpoint").write_text(old["checkpoint"])
    record(maestro_store, "default", 17, start=20)
    new = _export(mcli, tmp_path / "new.json")
    (tmp_path / "new.checkpoint").write_text(new["checkpoint"])
    since_old = ("--since", str(tmp_path / "old.checkpoint"))
    status, output = _verify(mcli, new, key_file, tmp_path, *since_old)
    assert (status, "consistent with the older checkpoint" in output) == (0, True)
    status, output = _verify(mcli, old, key_file, tmp_path, "--since", str(tmp_path / "new.checkpoint"))
    assert status == 1
    assert "TAMPERED (rolled_back) at index 20: the checkpoint has 20 events, fewer than the 37" in output
    forked = checkpoint.Checkpoint("maestro.local/audit/default", 20, b"\x07" * 32)
    (tmp_path / "forked.checkpoint").write_text(checkpoint.sign(forked, forked.origin, _server_key(settings)))
    status, output = _verify(mcli, new, key_file, tmp_path, "--since", str(tmp_path / "forked.checkpoint"))
    assert status == 1
    assert "TAMPERED (inconsistent)" in output


def test_export_covers_exactly_its_checkpoint(mcli: Cli, maestro_store: Database, tmp_path: Path) -> None:
    record(maestro_store, "default", 3)
    export = _export(mcli, tmp_path / "audit.json")
    assert export["checkpoint"].split("\n")[1] == "3"
    assert len(export["events"]) == 3


def test_usage_errors_exit_2(mcli: Cli, maestro_store: Database, key_file: Path, tmp_path: Path) -> None:
    record(maestro_store, "default", 2)
    mcli.ok("audit", "export", "-o", str(tmp_path / "audit.json"))
    result = mcli("audit", "export", "-o", str(tmp_path / "x.json"), "--tenant", "other")
    assert result.exit_code == 2
    assert "tenant 'default'" in result.stderr
    assert mcli("audit", "verify", str(tmp_path / "missing.json"), "--key", str(key_file)).exit_code == 2
    (tmp_path / "bad.pub").write_text("nope")
    result = mcli("audit", "verify", str(tmp_path / "audit.json"), "--key", str(tmp_path / "bad.pub"))
    assert result.exit_code == 2
    assert mcli("audit", "verify", str(tmp_path / "audit.json")).exit_code == 2  # --key is required
    (tmp_path / "garbage.json").write_text('{"format": "something else"}')
    result = mcli("audit", "verify", str(tmp_path / "garbage.json"), "--key", str(key_file))
    assert result.exit_code == 1
    assert "TAMPERED (malformed)" in result.stderr


def test_drafts_of_denials_carry_no_object() -> None:
    assert draft(4).object is None
    assert draft(4).status == 401


def test_verify_is_offline_and_imports_no_server_code(tmp_path: Path) -> None:
    from tests.maestro.test_cli_startup import probe

    signer = signing_key.load(tmp_path / "data", None, None)
    events = [from_draft(draft(n), "default", n, datetime(2026, 12, 2, tzinfo=UTC)) for n in range(5)]
    note = signer.sign("default", 5, merkle.root([e.leaf_hash() for e in events]))
    items = [{"index": e.index, "leaf_hash": e.leaf_hash().hex(), "event": e.to_json()} for e in events]
    export = {"format": FORMAT, "tenant_id": "default", "checkpoint": note, "events": items}
    (tmp_path / "audit.json").write_text(json.dumps(export))
    (tmp_path / "audit.pub").write_text(signer.published[0].pem)
    args = ["audit", "verify", str(tmp_path / "audit.json"), "--key", str(tmp_path / "audit.pub")]
    (report,) = probe([args], tmp_path, MAESTRO_URL="http://127.0.0.1:9")
    assert (report["exit"], report["loaded"]) == (0, [])
