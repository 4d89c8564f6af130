"""Exporting a disclosure pack as one tar.gz an auditor verifies offline (``pack_archive``).

Everything the archive says is read in one read transaction, which ends before the
first byte goes out (``prepare``); the blobs then stream from the store one chunk at
a time through the compressor (``stream``), so the server holds one chunk, never a
blob or the archive. Each blob is hashed again as it streams and the final
``attestation.dsse.json`` signs the digests seen, so a blob that changed in the store
breaks the stream instead of being vouched for.

The export is a read: like every other read it records no audit event.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from maestro.artifacts import service as artifact_service
from maestro.attestations import dsse_sign, statement
from maestro.audit import repository as audit_repository
from maestro.audit.event import format_at
from maestro.audit.signing_key import Signer
from maestro.blobs.base import BlobMissing, BlobStore
from maestro.models import Artifact
from maestro.pack_archive import layout
from maestro.pack_archive.writer import MemberTooLong, TarGzWriter, chunks_of
from maestro.packs import service as pack_service
from maestro.platform.uow import UnitOfWork
from maestro.runs import service as run_service
from maestro.runs.release_gate import evaluate_current_or_missing
from maestro.verdicts import attestation
from maestro.verdicts import service as verdict_service

CHUNK = 1 << 20
log = logging.getLogger("maestro.blobs")


class ExportAborted(RuntimeError):
    """The archive could not be finished after its first bytes were sent (a blob changed
    or vanished): the response is cut short, which the client sees as a broken archive.
    Not a MaestroError: no error body can follow a started response."""


@dataclass(frozen=True, slots=True)
class BlobFile:
    name: str
    digest: str  # sha256:<hex>
    size: int


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What the archive holds, read before it streams; only the blobs are fetched later."""

    pack_id: str
    run_id: str
    tenant_id: str
    mtime: int
    exported_at: str
    manifest: bytes
    blobs: tuple[BlobFile, ...]
    checkpoint: bytes
    events: bytes
    checkpoint_size: int


def _json(doc: Any) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def _current_gate(
    uow: UnitOfWork, signer: Signer, run_id: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The run's gate answer, its signed VSA, and which recorded evaluation they are (the
    newest: its ``gate.evaluated`` event is among the archived ones). A run the evaluator
    has not judged yet is evaluated and signed here (no recorded evaluation)."""
    recorded = verdict_service.latest(uow, run_id)
    if recorded is not None:
        meta = {
            "id": recorded.id,
            "evaluated_at": recorded.result["evaluated_at"],
            "trigger": recorded.trigger,
        }
        return recorded.result, recorded.vsa, meta
    doc, result = evaluate_current_or_missing(uow, run_id)
    answer = result.model_dump(mode="json")
    artifacts = [(a.id, a.content_digest.removeprefix("sha256:")) for a in doc.artifacts if a.content_digest]
    envelope = attestation.gate_vsa(
        key=signer.private, key_id=signer.key_id, deployment=signer.base, answer=answer, artifacts=artifacts
    )
    return answer, envelope, None


def _artifact_entry(artifact: Artifact) -> tuple[dict[str, Any], BlobFile | None]:
    content = artifact.content
    if content is None:
        return {"artifact": artifact.model_dump(mode="json"), "sha256": None, "file": None}, None
    blob = BlobFile(layout.artifact_member(artifact.id, artifact.path_or_uri), content.digest, content.size)
    entry = {
        "artifact": artifact.model_dump(mode="json"),
        "sha256": content.digest.removeprefix("sha256:"),
        "file": blob.name,
    }
    return entry, blob


def _audit(uow: UnitOfWork, signer: Signer, objects: set[tuple[str, str]]) -> tuple[bytes, bytes, int]:
    session, tenant = uow.session, uow.tenant_id
    head = audit_repository.head(session, tenant)
    events = audit_repository.events_about(session, tenant, objects, head.size)
    items = [
        {
            "index": e.index,
            "leaf_hash": e.leaf_hash.hex(),
            "event": e.event,
            "inclusion_proof": [
                h.hex() for h in audit_repository.inclusion_proof(session, tenant, e.index, head.size)
            ],
        }
        for e in events
    ]
    note = signer.sign(tenant, head.size, head.root)
    doc = {
        "format": layout.EVENTS_FORMAT,
        "tenant_id": tenant,
        "tree_size": head.size,
        "root_hash": head.root.hex(),
        "events": items,
    }
    return note.encode(), _json(doc), head.size


def prepare(uow: UnitOfWork, pack_id: str, signer: Signer) -> ExportPlan:
    """Read the pack, its run, artifacts, gate answer and audit events; sign the VSA and
    the checkpoint; end the read. Another tenant's pack is DisclosurePackNotFound. The
    tenant's queued events must have been integrated before the read began
    (``maestro.audit.sequencer.integrate_now``), so the log covers every committed change."""
    pack = pack_service.get_pack(uow, pack_id)
    run, _ = run_service.get_run(uow, pack.run_id)
    artifacts = [artifact_service.get_artifact(uow, a) for a in pack.artifact_ids]
    gate, gate_vsa, evaluation = _current_gate(uow, signer, pack.run_id)
    at = format_at(uow.now)
    entries = [_artifact_entry(a) for a in artifacts]
    objects = {("disclosure_pack", pack.id), ("run", run.id)} | {("artifact", a.id) for a in artifacts}
    note, events, size = _audit(uow, signer, objects)
    manifest = {
        "format": layout.FORMAT,
        "tenant_id": uow.tenant_id,
        "exported_at": at,
        "pack": pack.model_dump(mode="json"),
        "run": run.model_dump(mode="json"),
        "artifacts": [entry for entry, _ in entries],
        "release_gate": gate,
        "release_gate_vsa": gate_vsa,
        "release_gate_evaluation": evaluation,
        "signing_key_id": signer.key_id,
        "audit": {"checkpoint": layout.CHECKPOINT, "events": layout.EVENTS},
    }
    uow.release()  # the blobs stream without a transaction open
    return ExportPlan(
        pack_id=pack.id,
        run_id=run.id,
        tenant_id=uow.tenant_id,
        mtime=int(pack.created_at.timestamp()),
        exported_at=at,
        manifest=_json(manifest),
        blobs=tuple(blob for _, blob in entries if blob is not None),
        checkpoint=note,
        events=events,
        checkpoint_size=size,
    )


def _blob_chunks(blobs: BlobStore, blob: BlobFile) -> Iterator[bytes]:
    with blobs.open(blob.digest) as source:
        while chunk := source.read(CHUNK):
            yield chunk


def stream(plan: ExportPlan, blobs: BlobStore, signer: Signer) -> Iterator[bytes]:
    """The archive's bytes, member by member; raises (ending the response early, so the
    client sees a broken archive) when a blob no longer matches its digest."""
    writer = TarGzWriter(plan.mtime)
    yield writer.member(layout.MANIFEST, plan.manifest)
    for blob in plan.blobs:
        try:
            yield from chunks_of(writer, blob.name, blob.size, _blob_chunks(blobs, blob))
        except (BlobMissing, MemberTooLong) as exc:
            raise _aborted(plan, blob, f"the stored blob is missing or of another size ({exc})") from exc
        if f"sha256:{writer.digests[-1][1]}" != blob.digest:
            raise _aborted(plan, blob, "the stored blob no longer matches its digest")
    yield writer.member(layout.CHECKPOINT, plan.checkpoint)
    yield writer.member(layout.EVENTS, plan.events)
    yield writer.member(layout.ATTESTATION, _attestation(plan, writer.digests, signer))
    yield writer.close()


def _aborted(plan: ExportPlan, blob: BlobFile, why: str) -> ExportAborted:
    log.error("pack export aborted", extra={"pack_id": plan.pack_id, "digest": blob.digest, "why": why})
    return ExportAborted(f"export of pack {plan.pack_id} aborted at {blob.name}: {why}")


def _attestation(plan: ExportPlan, digests: list[tuple[str, str]], signer: Signer) -> bytes:
    subjects = [statement.Subject(name, {"sha256": digest}) for name, digest in digests]
    predicate = {
        "pack_id": plan.pack_id,
        "run_id": plan.run_id,
        "tenant_id": plan.tenant_id,
        "exported_at": plan.exported_at,
        "checkpoint_size": plan.checkpoint_size,
        "manifest_sha256": hashlib.sha256(plan.manifest).hexdigest(),
    }
    payload = statement.statement(subjects, layout.PACK_PREDICATE, predicate).encode()
    return _json(dsse_sign.sign(statement.PAYLOAD_TYPE, payload, signer.private, signer.key_id))
