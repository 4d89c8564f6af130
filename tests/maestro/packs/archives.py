"""Helpers for pack tests: make a pack with content, export it, and rewrite an archive
(a tamperer's edits, optionally re-signing the attestation with some key)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi.testclient import TestClient

from maestro.attestations import dsse_sign, statement
from maestro.pack_archive import layout
from tests.maestro.conftest import ALL_FLAGS

BLOBS = {"sbom.json": b'{"hello": "world"}\n' * 50, "build.log": b"step 1 ok\nstep 2 ok\n" * 40}
Members = dict[str, bytes]


def make_pack(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A run with two uploaded artifacts and one without content, and a pack of all three."""
    h = headers or {}
    run = client.post("/maestro/runs", json={"name": "nightly", "owner": "ci"}, headers=h).json()
    for name, data in BLOBS.items():
        body = {
            "run_id": run["id"],
            "kind": "other",
            "path_or_uri": f"s3://b/{name}",
            "metadata_json": ALL_FLAGS,
        }
        artifact = client.post("/maestro/artifacts", json=body, headers=h).json()
        put = client.put(
            f"/maestro/artifacts/{artifact['id']}/content",
            content=data,
            headers={**h, "content-type": "application/octet-stream"},
        )
        assert put.status_code == 201, put.text
    body = {"run_id": run["id"], "kind": "other", "path_or_uri": "https://x/../../etc/passwd"}
    assert client.post("/maestro/artifacts", json=body, headers=h).status_code == 201
    pack = client.post("/maestro/disclosure-packs", json={"run_id": run["id"], "summary": "s"}, headers=h)
    assert pack.status_code == 201, pack.text
    return dict(pack.json())


def export(client: TestClient, pack_id: str, path: Path, headers: dict[str, str] | None = None) -> Path:
    response = client.get(f"/maestro/disclosure-packs/{pack_id}/export", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    path.write_bytes(response.content)
    return path


def server_key(data_dir: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key((data_dir / "keys" / "signing-key.pem").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def members(path: Path) -> Members:
    with tarfile.open(path) as archive:
        out: Members = {}
        for m in archive.getmembers():
            handle = archive.extractfile(m)
            assert handle is not None
            out[m.name] = handle.read()
        return out


def write(path: Path, contents: Members) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def resign(contents: Members, key: Ed25519PrivateKey) -> None:
    """Replace the attestation by one over the current files, signed by ``key``."""
    old = json.loads(contents[layout.ATTESTATION])
    predicate = json.loads(base64.b64decode(old["payload"]))["predicate"]

    subjects = [
        statement.Subject(name, {"sha256": hashlib.sha256(data).hexdigest()})
        for name, data in contents.items()
        if name != layout.ATTESTATION
    ]
    payload = statement.statement(subjects, layout.PACK_PREDICATE, predicate).encode()
    contents[layout.ATTESTATION] = json.dumps(dsse_sign.sign(statement.PAYLOAD_TYPE, payload, key)).encode()


def rewrite(
    source: Path, target: Path, edit: Callable[[Members], None], sign_with: Ed25519PrivateKey | None = None
) -> Path:
    contents = members(source)
    edit(contents)
    if sign_with is not None:
        resign(contents, sign_with)
    return write(target, contents)
