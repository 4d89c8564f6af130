"""``maestro pack verify``: check a disclosure-pack archive offline, with the server's keys.

Pure and offline. Checks, each problem reported with the file it is about:

1. the archive is safe to read (``reader``);
2. ``attestation.dsse.json`` is signed by a given key, and its statement lists
   exactly the other files with their sha256 (a changed byte, a missing or an
   added file is named);
3. every blob matches the sha256 of its artifact record in ``manifest.json``;
4. the gate's VSA is signed by a given key and states the manifest's answer
   (same answer digest, PASSED exactly when ``passed``, about this run);
5. the checkpoint is signed by a given key for the manifest's tenant, and every
   audit event is this tenant's, about the pack, its run or its artifacts,
   hashes to its leaf and is included in the checkpoint by its proof; the
   pack's own creation is among them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from maestro.attestations import dsse_sign, statement, vsa
from maestro.audit import checkpoint, merkle
from maestro.audit.event import EventError, parse
from maestro.pack_archive import layout, reader

_DOCUMENTS = {layout.MANIFEST, layout.CHECKPOINT, layout.EVENTS, layout.ATTESTATION}


class KeyFileError(ValueError):
    """A --key file holds no usable Ed25519 public key."""


@dataclass(slots=True)
class Verdict:
    problems: list[str] = field(default_factory=list)
    files: int = 0
    events: int = 0
    pack_id: str = ""
    run_id: str = ""
    checkpoint: str = ""
    gate_passed: bool | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if not self.ok:
            return f"FAILED: {len(self.problems)} problem(s)"
        gate = "passed" if self.gate_passed else "failed"
        return (
            f"VERIFIED: pack {self.pack_id} of run {self.run_id}: {self.files} file(s) match the "
            f"signed statement; {self.events} audit event(s) are in the signed checkpoint "
            f"{self.checkpoint}; the release gate ({gate}) matches its signed VSA"
        )


def parse_keys(data: bytes) -> list[Ed25519PublicKey]:
    """Ed25519 public keys from a PEM, or from the JSON ``GET /maestro/keys`` returns."""
    text = data.decode("utf-8", "replace").strip()
    pems: list[str]
    if text.startswith(("[", "{")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"not JSON: {exc}") from None
        entries = doc if isinstance(doc, list) else [doc]
        pems = [e["pem"] for e in entries if isinstance(e, dict) and isinstance(e.get("pem"), str)]
    else:
        pems = [text]
    keys = []
    for pem in pems:
        try:
            key = load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise KeyFileError(f"not a PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError("not an Ed25519 public key")
        keys.append(key)
    if not keys:
        raise KeyFileError("no public key in it")
    return keys


def verify(
    path: Path, keys: Sequence[Ed25519PublicKey], limits: reader.Limits = reader.DEFAULT_LIMITS
) -> Verdict:
    verdict = Verdict()
    try:
        contents = reader.read(path, _DOCUMENTS, limits)
    except reader.ArchiveRefused as exc:
        verdict.problems.append(f"archive refused: {exc}")
        return verdict
    _files(contents, keys, verdict)
    manifest = _json(contents, layout.MANIFEST, verdict)
    if not isinstance(manifest, dict) or manifest.get("format") != layout.FORMAT:
        if manifest is not None:
            verdict.problems.append(f"{layout.MANIFEST}: not a {layout.FORMAT} manifest")
        return verdict
    try:
        verdict.pack_id, verdict.run_id = str(manifest["pack"]["id"]), str(manifest["run"]["id"])
        _consistent(manifest, verdict)
        _blobs(contents, manifest, verdict)
        _gate(manifest, keys, verdict)
        _audit(contents, manifest, keys, verdict)
    except (KeyError, TypeError, AttributeError) as exc:
        verdict.problems.append(f"{layout.MANIFEST}: a required field is missing or malformed ({exc!r})")
    return verdict


def _json(contents: reader.Contents, name: str, verdict: Verdict) -> Any:
    if name not in contents.documents:
        verdict.problems.append(f"{name}: missing from the archive")
        return None
    try:
        return json.loads(contents.documents[name])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        verdict.problems.append(f"{name}: not JSON ({exc})")
        return None


def _files(contents: reader.Contents, keys: Sequence[Ed25519PublicKey], verdict: Verdict) -> None:
    """The signed statement against the files the archive holds."""
    envelope = _json(contents, layout.ATTESTATION, verdict)
    if envelope is None:
        return
    try:
        payload = dsse_sign.open_envelope(envelope, statement.PAYLOAD_TYPE, keys)
        listed = statement.decode(payload, layout.PACK_PREDICATE)
    except (dsse_sign.EnvelopeError, statement.StatementError) as exc:
        verdict.problems.append(f"{layout.ATTESTATION}: {exc}")
        return
    signed = {s.name: s.digest.get("sha256") for s in listed.subjects}
    present = {n: d for n, d in contents.digests.items() if n != layout.ATTESTATION}
    for name, digest in signed.items():
        if name not in present:
            verdict.problems.append(f"{name}: listed in the signed statement but missing from the archive")
        elif present[name] != digest:
            verdict.problems.append(f"{name}: its sha256 {present[name]} differs from the signed {digest}")
    for name in present:
        if name not in signed:
            verdict.problems.append(f"{name}: in the archive but not in the signed statement (added)")
    verdict.files = len(present)


def _consistent(manifest: dict[str, Any], verdict: Verdict) -> None:
    """The manifest's parts describe one pack: its run, and exactly its artifacts."""
    if manifest["pack"]["run_id"] != verdict.run_id:
        verdict.problems.append(
            f"{layout.MANIFEST}: the pack is of run {manifest['pack']['run_id']!r}, not {verdict.run_id!r}"
        )
    listed = [entry["artifact"]["id"] for entry in manifest["artifacts"]]
    if listed != manifest["pack"]["artifact_ids"]:
        verdict.problems.append(f"{layout.MANIFEST}: the artifacts listed are not the pack's artifact_ids")


def _blobs(contents: reader.Contents, manifest: dict[str, Any], verdict: Verdict) -> None:
    for entry in manifest["artifacts"]:
        file, digest = entry.get("file"), entry.get("sha256")
        if file is None:
            continue
        actual = contents.digests.get(file)
        if actual is not None and actual != digest:
            verdict.problems.append(
                f"{file}: its sha256 {actual} differs from artifact {entry['artifact']['id']}'s record"
            )


def _gate(manifest: dict[str, Any], keys: Sequence[Ed25519PublicKey], verdict: Verdict) -> None:
    answer, run_id, where = manifest["release_gate"], verdict.run_id, f"{layout.MANIFEST}: release_gate_vsa"
    verdict.gate_passed = bool(answer["passed"])
    try:
        payload = dsse_sign.open_envelope(manifest["release_gate_vsa"], statement.PAYLOAD_TYPE, keys)
        reading = vsa.read(statement.decode(payload, vsa.PREDICATE_TYPE))
    except (dsse_sign.EnvelopeError, statement.StatementError) as exc:
        verdict.problems.append(f"{where}: {exc}")
        return
    subject = {s.name: s.digest.get("sha256") for s in reading.subjects}.get(layout.GATE_SUBJECT + run_id)
    if subject != layout.gate_digest(answer):
        verdict.problems.append(
            f"{where}: the VSA was signed for another release gate answer than the manifest's"
        )
    if reading.passed != answer["passed"] or answer.get("run_id") != run_id:
        said = vsa.PASSED if reading.passed else vsa.FAILED
        verdict.problems.append(
            f"{where}: the VSA says {said}, the manifest's gate answer passed={answer['passed']}"
        )
    if not reading.resource_uri.endswith(f"/runs/{run_id}"):
        verdict.problems.append(f"{where}: the VSA is about {reading.resource_uri!r}, not run {run_id}")


def _checkpoint(note: str, keys: Sequence[Ed25519PublicKey]) -> checkpoint.Checkpoint | None:
    origin = note.split("\n", 1)[0]
    for key in keys:
        try:
            return checkpoint.verify(note, origin, key)
        except checkpoint.CheckpointError:
            continue
    return None


def _audit(
    contents: reader.Contents, manifest: dict[str, Any], keys: Sequence[Ed25519PublicKey], verdict: Verdict
) -> None:
    note_bytes = contents.documents.get(layout.CHECKPOINT)
    events = _json(contents, layout.EVENTS, verdict)
    if note_bytes is None:
        verdict.problems.append(f"{layout.CHECKPOINT}: missing from the archive")
        return
    cp = _checkpoint(note_bytes.decode("utf-8", "replace"), keys)
    tenant = manifest["tenant_id"]
    if cp is None:
        verdict.problems.append(f"{layout.CHECKPOINT}: not signed by any of the given keys (or altered)")
        return
    verdict.checkpoint = f"{cp.origin} (size {cp.size})"
    if cp.origin.rpartition("/audit/")[2] != tenant:
        verdict.problems.append(f"{layout.CHECKPOINT}: is the log of {cp.origin!r}, not tenant {tenant!r}")
    if not isinstance(events, dict) or not isinstance(events.get("events"), list):
        if events is not None:
            verdict.problems.append(f"{layout.EVENTS}: not a {layout.EVENTS_FORMAT} document")
        return
    about = {("disclosure_pack", verdict.pack_id), ("run", verdict.run_id)}
    about |= {("artifact", entry["artifact"]["id"]) for entry in manifest["artifacts"]}
    created = False
    for position, item in enumerate(events["events"]):
        action = _event(position, item, tenant, about, cp, verdict)
        created |= action == ("disclosure_pack.create", verdict.pack_id)
    verdict.events = len(events["events"])
    if not created:
        verdict.problems.append(f"{layout.EVENTS}: no event records the creation of pack {verdict.pack_id}")


def _event(
    position: int,
    item: Any,
    tenant: str,
    about: set[tuple[str, str]],
    cp: checkpoint.Checkpoint,
    verdict: Verdict,
) -> tuple[str, str] | None:
    where = f"{layout.EVENTS}: event {position}"
    try:
        event = parse(item["event"])
        proof = [bytes.fromhex(h) for h in item["inclusion_proof"]]
    except (EventError, KeyError, TypeError, ValueError) as exc:
        verdict.problems.append(f"{where}: does not parse ({exc})")
        return None
    where = f"{layout.EVENTS}: event {event.index} ({event.action})"
    target = None if event.object is None else (event.object.type, event.object.id)
    if event.tenant_id != tenant:
        verdict.problems.append(f"{where}: belongs to tenant {event.tenant_id!r}")
    if target not in about:
        verdict.problems.append(f"{where}: is not about this pack, its run or its artifacts")
    leaf = event.leaf_hash()
    if item.get("leaf_hash") != leaf.hex():
        verdict.problems.append(f"{where}: its fields do not hash to its leaf hash (edited)")
    try:
        merkle.verify_inclusion(event.index, cp.size, leaf, proof, cp.root)
    except merkle.ProofError as exc:
        verdict.problems.append(f"{where}: not included in the signed checkpoint ({exc})")
        return None
    return (event.action, target[1]) if target else None
