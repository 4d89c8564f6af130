"""Uploading artifact content: verify, parse, store once, index, attach.

The order matters for "loses nothing, keeps nothing half-written":
1. the bytes are already spooled and hashed (constant memory);
2. rules are checked (write-once, declared content_hash, ``strict``) and the
   content parsed - all before anything is written;
3. the blob row is leased in its own transaction, then the bytes go to the store;
4. one transaction attaches content, evidence and the component index to the
   artifact. A failure before 4 leaves at most an unreferenced, leased blob that
   garbage collection removes once the lease lapses. (On SQLite a large index is
   written in batches first, hidden until that transaction attaches the content:
   see ``component_index``.)
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from maestro import storage
from maestro.blobs.base import BlobStore
from maestro.blobs.spool import Spool
from maestro.db.engine import Database
from maestro.errors import ArtifactNotFound, Conflict, RunNotFound, ValidationFailed
from maestro.evidence.model import Evidence, Finding, ParsedEvidence, ParseOptions, VerifiedFlags
from maestro.evidence.purl import indexable, split_purl
from maestro.evidence.registry import verified_flags
from maestro.ids import uuid7
from maestro.models import Artifact, ArtifactCreate, ArtifactEvidence, ArtifactKind
from maestro.services import artifacts as artifact_service
from maestro.services import component_index
from maestro.services import keys as key_service
from maestro.services.artifacts import EvidenceViews, new_artifact_values
from maestro.services.parsing import Parser
from maestro.services.rows import artifact_from_row
from maestro.storage import evidence as evidence_store

LEASE = timedelta(hours=1)
_HASH = re.compile(r"^(?:(sha256|sha384|sha512|sha1)[:\-])?([0-9a-fA-F]+)$")
_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40}
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}$")
_KIND_FLAGS = {
    ArtifactKind.SBOM: ("sbom", "an SBOM"),
    ArtifactKind.SLSA_PROVENANCE: ("slsa_provenance", "SLSA provenance"),
    ArtifactKind.RISK_ASSESSMENT: ("risk_assessment", "a risk assessment"),
}  # flag, and the phrase "the content is not valid <phrase>" needs


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How an upload's content is parsed: sizes, memory, time and concurrency (``Parser``)."""

    parser: Parser


def declared_hash(content_hash: str | None) -> tuple[str, str] | None:
    """``(algorithm, lowercase hex)`` for a content_hash we can check, else None."""
    if content_hash is None:
        return None
    match = _HASH.fullmatch(content_hash.strip())
    if match is None:
        return ("unparsable", content_hash)
    algorithm = match.group(1) or "sha256"
    return algorithm, match.group(2).lower()


def hash_algorithms(content_hash: str | None) -> tuple[str, ...]:
    parsed = declared_hash(content_hash)
    return (parsed[0],) if parsed and parsed[0] in _HEX_LENGTHS else ()


def _check_declared_hash(content_hash: str | None, spool: Spool) -> None:
    parsed = declared_hash(content_hash)
    if parsed is None:
        return
    algorithm, expected = parsed
    actual = spool.hexdigest(algorithm) if algorithm in _HEX_LENGTHS else None
    if actual is None or len(expected) != _HEX_LENGTHS[algorithm] or actual != expected:
        raise ValidationFailed.for_field(
            "content_hash",
            f"the artifact declares {content_hash!r} but the uploaded bytes are {spool.digest}; "
            "nothing was kept",
        )


def clean_media_type(value: str | None) -> str | None:
    """The client's media type when it is well-formed and says something about the bytes
    (``curl --data-binary`` labels everything a form, which they are not)."""
    if not value:
        return None
    media = value.split(";", 1)[0].strip().lower()
    if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return None
    return media if _MEDIA_TYPE.fullmatch(media) else None


def _contradictions(
    kind: ArtifactKind, declared: Any, evidence: Evidence, verified: VerifiedFlags
) -> list[Finding]:
    """Where the client's declaration and the content disagree (shown, never hidden)."""
    found: list[Finding] = []
    for flag, label in (
        ("sbom", "SBOM"),
        ("slsa_provenance", "SLSA provenance"),
        ("risk_assessment", "risk assessment"),
    ):
        if getattr(declared, f"{flag}_present") and not getattr(verified, flag):
            found.append(
                Finding(
                    location=f"metadata_json.{flag}_present",
                    message=f"declared true, but the content holds no valid {label}",
                )
            )
    expected = _KIND_FLAGS.get(kind)
    if expected and not getattr(verified, expected[0]):
        found.append(
            Finding(
                location="kind",
                message=f"kind is '{kind.value}' but the content is not {expected[1]} that verifies "
                f"(found {evidence.format}, {evidence.evidence_type})",
            )
        )
    return found


def _parse(spool: Spool, kind: ArtifactKind, options: ParseOptions, limits: UploadLimits) -> ParsedEvidence:
    spool.close()
    return limits.parser.parse(spool.path, spool.size, options, kind.value)


def _evidence_for(
    kind: ArtifactKind, declared: Any, parsed: ParsedEvidence, strict: bool
) -> ArtifactEvidence:
    verified = verified_flags(parsed.evidence)
    evidence = ArtifactEvidence(**parsed.evidence.model_dump(), verified=verified)
    contradictions = _contradictions(kind, declared, parsed.evidence, verified)
    evidence.warnings.extend(contradictions)
    if strict and kind in _KIND_FLAGS and not getattr(verified, _KIND_FLAGS[kind][0]):
        errors = [
            {"field": f"content{e.location}", "message": e.message} for e in parsed.evidence.errors[:50]
        ]
        problem = next((c.message for c in contradictions if c.location == "kind"), "content does not verify")
        raise ValidationFailed(f"strict: {problem}; nothing was kept", errors=errors or None)
    return evidence


def _component_rows(
    parsed: ParsedEvidence, artifact_id: str, run_id: str, now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for component in parsed.components:
        base, purl_version = split_purl(component.purl) if component.purl else (None, None)
        if not indexable(component.name):
            continue
        rows.append(
            {
                "id": uuid7(),
                "artifact_id": artifact_id,
                "run_id": run_id,
                "purl": component.purl if indexable(component.purl) else None,
                "purl_base": base if indexable(base) else None,
                "name": component.name,
                "version": (purl_version or component.version or None)
                if indexable(purl_version or component.version)
                else None,
                "hashes": component.hashes,
                "licenses": component.licenses,
                "created_at": now,
            }
        )
    return rows


def _content_values(
    spool: Spool, media_type: str | None, evidence: ArtifactEvidence, now: datetime, declared: str | None
) -> dict[str, Any]:
    """Columns that attach content; the computed digest stands in for an undeclared content_hash.
    ``evidence`` is the bounded view (``artifact_service.split_evidence``)."""
    return {
        "content_hash": declared or spool.digest,
        "content_digest": spool.digest,
        "content_size": spool.size,
        "media_type": media_type,
        "uploaded_at": now,
        "evidence": evidence.model_dump(mode="json"),
        "verified_sbom": evidence.verified.sbom,
        "verified_slsa_provenance": evidence.verified.slsa_provenance,
        "verified_risk_assessment": evidence.verified.risk_assessment,
    }


def _store_blob(db: Database, blobs: BlobStore, spool: Spool) -> None:
    now = datetime.now(UTC)
    with db.write() as session:
        evidence_store.lease_blob(session, spool.digest, spool.size, now, now + LEASE)
    spool.close()
    blobs.put_file(spool.digest, spool.path, spool.size)


def attach_content(
    db: Database,
    blobs: BlobStore,
    artifact_id: str,
    spool: Spool,
    *,
    strict: bool,
    media_type: str | None,
    limits: UploadLimits,
) -> tuple[Artifact, bool]:
    """Attach spooled bytes to an existing artifact. Returns (artifact, newly attached)."""
    with db.read() as session:
        row = storage.get_artifact(session, artifact_id)
        if row is None:
            raise ArtifactNotFound()
        trusted = key_service.trusted_keys(session)
    if row.content_digest is not None:
        return _same_or_conflict(row, spool)
    _check_declared_hash(row.content_hash, spool)
    artifact = artifact_from_row(row)
    parsed = _parse(spool, artifact.kind, ParseOptions(strict=strict, trusted_keys=trusted), limits)
    evidence = _evidence_for(artifact.kind, artifact.metadata_json, parsed, strict)
    views = artifact_service.split_evidence(evidence)
    _store_blob(db, blobs, spool)
    now = datetime.now(UTC)
    rows = _component_rows(parsed, artifact_id, row.run_id, now)
    values = _content_values(spool, media_type, views.view, now, row.content_hash)
    if component_index.in_batches(db, rows):
        return _attach_in_batches(db, artifact_id, spool, values, views, rows)
    with db.write() as session:
        current = evidence_store.get_artifact_for_update(session, artifact_id)
        if current is None:
            raise ArtifactNotFound()
        if current.content_digest is not None:  # a concurrent upload won the race
            return _same_or_conflict(current, spool)
        component_index.check_unclaimed(session, artifact_id, now)
        evidence_store.set_artifact_content(session, artifact_id, values)
        artifact_service.store_evidence_views(session, artifact_id, views)
        evidence_store.insert_components(session, rows)
        fresh = storage.get_artifact(session, artifact_id)
    assert fresh is not None
    return artifact_from_row(fresh), True


def _attach_in_batches(
    db: Database,
    artifact_id: str,
    spool: Spool,
    values: dict[str, Any],
    views: EvidenceViews,
    rows: list[dict[str, Any]],
) -> tuple[Artifact, bool]:
    """A large index on SQLite: claim, write the rows in batches, then attach the content
    (which makes them visible) and release the claim in one last transaction."""
    token = uuid7()
    with db.write() as session:
        current = evidence_store.get_artifact_for_update(session, artifact_id)
        if current is None:
            raise ArtifactNotFound()
        if current.content_digest is not None:
            return _same_or_conflict(current, spool)
        leftovers = component_index.claim(session, artifact_id, token, datetime.now(UTC))
    try:
        if leftovers:
            component_index.clear_leftovers(db, artifact_id, token)
        component_index.write_batches(db, artifact_id, token, rows)
        with db.write() as session:
            component_index.release(session, artifact_id, token)
            evidence_store.set_artifact_content(session, artifact_id, values)
            artifact_service.store_evidence_views(session, artifact_id, views)
            fresh = storage.get_artifact(session, artifact_id)
    except BaseException:
        component_index.abandon(db, artifact_id, token)
        raise
    assert fresh is not None
    return artifact_from_row(fresh), True


def _same_or_conflict(row: Any, spool: Spool) -> tuple[Artifact, bool]:
    spool.discard()
    if row.content_digest == spool.digest:
        return artifact_from_row(row), False
    raise Conflict(
        f"Artifact content is write-once: it already holds {row.content_digest}, "
        f"and these bytes are {spool.digest}"
    )


def create_with_content(
    db: Database,
    blobs: BlobStore,
    data: ArtifactCreate,
    spool: Spool,
    *,
    strict: bool,
    media_type: str | None,
    limits: UploadLimits,
) -> Artifact:
    """Create an artifact and attach its content in one step: both or neither."""
    with db.read() as session:
        if not storage.run_exists(session, data.run_id):
            raise RunNotFound()
        trusted = key_service.trusted_keys(session)
    _check_declared_hash(data.content_hash, spool)
    parsed = _parse(spool, data.kind, ParseOptions(strict=strict, trusted_keys=trusted), limits)
    evidence = _evidence_for(data.kind, data.metadata_json, parsed, strict)
    views = artifact_service.split_evidence(evidence)
    _store_blob(db, blobs, spool)
    now = datetime.now(UTC)
    values = new_artifact_values(data, now)
    content = _content_values(spool, media_type, views.view, now, data.content_hash)
    rows = _component_rows(parsed, values["id"], data.run_id, now)
    if component_index.in_batches(db, rows):
        return _create_in_batches(db, values, content, views, rows)
    with db.write() as session:
        if not storage.run_exists(session, data.run_id):
            raise RunNotFound()
        storage.insert_artifact(session, values | content)
        artifact_service.store_evidence_views(session, values["id"], views)
        evidence_store.insert_components(session, rows)
        row = storage.get_artifact(session, values["id"])
    assert row is not None
    return artifact_from_row(row)


def _create_in_batches(
    db: Database,
    values: dict[str, Any],
    content: dict[str, Any],
    views: EvidenceViews,
    rows: list[dict[str, Any]],
) -> Artifact:
    """A large index on SQLite: the artifact is created without content (visible as such
    while it is indexed), and gets its content, and with it its index, at the end; on
    failure it is removed again."""
    token, artifact_id = uuid7(), values["id"]
    with db.write() as session:
        if not storage.run_exists(session, values["run_id"]):
            raise RunNotFound()
        storage.insert_artifact(session, values)
        component_index.claim(session, artifact_id, token, datetime.now(UTC))
    try:
        component_index.write_batches(db, artifact_id, token, rows)
        with db.write() as session:
            component_index.release(session, artifact_id, token)
            evidence_store.set_artifact_content(session, artifact_id, content)
            artifact_service.store_evidence_views(session, artifact_id, views)
            row = storage.get_artifact(session, artifact_id)
    except BaseException:
        component_index.abandon(db, artifact_id, token)
        with contextlib.suppress(Exception), db.write() as session:
            evidence_store.delete_artifact(session, artifact_id)
        raise
    assert row is not None
    return artifact_from_row(row)
