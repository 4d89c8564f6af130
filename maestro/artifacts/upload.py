"""Uploading artifact content: verify, parse, store once, index, attach.

An upload has two phases, so that "loses nothing, keeps nothing half-written" holds
without holding a transaction (on SQLite, the writer lock) while bytes move:
1. *prepare*, before the request's unit of work begins: the bytes are already
   spooled and hashed (constant memory); the rules are checked (write-once,
   declared content_hash, ``strict``) and the content parsed; the blob row is
   leased in its own short transaction and the bytes go to the store. A failure
   here leaves at most an unreferenced, leased blob that garbage collection
   removes once the lease lapses. (On SQLite a large component index is written
   ahead here in batches, under a claim and hidden: see ``component_index``.)
2. *attach*, inside the unit of work: content, evidence and index are attached to
   the artifact, and commit with the rest of the request or not at all.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from maestro.artifacts import repository
from maestro.artifacts import service as artifact_service
from maestro.artifacts.service import EvidenceViews, new_artifact_values
from maestro.blobs.base import BlobStore
from maestro.blobs.spool import Spool
from maestro.components import index_writer as component_index
from maestro.errors import ArtifactNotFound, Conflict, RunNotFound, ValidationFailed
from maestro.evidence.model import Evidence, Finding, ParsedEvidence, ParseOptions, VerifiedFlags
from maestro.evidence.purl import indexable, split_purl
from maestro.evidence.registry import verified_flags
from maestro.ids import uuid7
from maestro.models import Artifact, ArtifactCreate, ArtifactEvidence, ArtifactKind
from maestro.platform.uow import UnitOfWork
from maestro.runs import service as run_service
from maestro.services.parsing import Parser
from maestro.services.rows import artifact_from_row
from maestro.storage import evidence as evidence_store
from maestro.trusted_keys import service as key_service

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
    parsed: ParsedEvidence, tenant_id: str, artifact_id: str, run_id: str, now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for component in parsed.components:
        base, purl_version = split_purl(component.purl) if component.purl else (None, None)
        if not indexable(component.name):
            continue
        rows.append(
            {
                "id": uuid7(),
                "tenant_id": tenant_id,
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


def _store_blob(uow: UnitOfWork, blobs: BlobStore, spool: Spool, now: datetime) -> None:
    """Prepare: lease the blob row (its own short transaction: garbage collection spares a
    leased blob), then put the bytes. Runs before the unit of work's transaction begins."""
    with uow.outside(writes=True) as scope:
        evidence_store.lease_blob(scope.session, spool.digest, spool.size, now, now + LEASE)
    spool.close()
    blobs.put_file(spool.digest, spool.path, spool.size)


def declared_content_hash(uow: UnitOfWork, artifact_id: str) -> str | None:
    """The artifact's declared content_hash (it decides which digests the spool computes),
    read before the upload streams and so outside the unit of work."""
    with uow.outside() as scope:
        row = repository.get_artifact(scope, artifact_id)
    if row is None:
        raise ArtifactNotFound()
    return row.content_hash


@dataclass(slots=True)
class Prepared:
    """An upload's bytes stored and parsed, not yet attached: what ``_attach`` writes."""

    content: dict[str, Any]
    views: EvidenceViews
    rows: list[dict[str, Any]]  # the component index, unless written ahead in batches
    batch_token: str | None = None


def _prepare(
    uow: UnitOfWork,
    blobs: BlobStore,
    spool: Spool,
    kind: ArtifactKind,
    declared: Any,
    content_hash: str | None,
    where: tuple[str, str],
    *,
    strict: bool,
    media_type: str | None,
    limits: UploadLimits,
    trusted: Any,
) -> Prepared:
    """Check, parse and store the bytes - everything that may take long or touch the blob
    store - before the unit of work's transaction (and SQLite's writer lock) is taken."""
    _check_declared_hash(content_hash, spool)
    parsed = _parse(spool, kind, ParseOptions(strict=strict, trusted_keys=trusted), limits)
    evidence = _evidence_for(kind, declared, parsed, strict)
    views = artifact_service.split_evidence(evidence)
    now = uow.clock()
    _store_blob(uow, blobs, spool, now)
    artifact_id, run_id = where
    rows = _component_rows(parsed, uow.tenant_id, artifact_id, run_id, now)
    return Prepared(_content_values(spool, media_type, views.view, now, content_hash), views, rows)


def _index_ahead(uow: UnitOfWork, prepared: Prepared, artifact_id: str) -> None:
    """SQLite, a large index: write it in batches under a claim, hidden until attached."""
    token = uuid7()
    with uow.outside(writes=True) as scope:
        leftovers = component_index.claim(scope.session, artifact_id, token, uow.clock())
    prepared.batch_token = token
    if leftovers:
        component_index.clear_leftovers(uow.db, artifact_id, token)
    component_index.write_batches(uow.db, artifact_id, token, prepared.rows)
    prepared.rows = []


def _attach(uow: UnitOfWork, artifact_id: str, prepared: Prepared, action: str) -> Artifact:
    """Attach: content, evidence and index in the unit of work (so they commit together)."""
    session = uow.session
    if prepared.batch_token is not None:
        component_index.release(session, artifact_id, prepared.batch_token)
    else:
        component_index.check_unclaimed(session, artifact_id, uow.clock())
        evidence_store.insert_components(session, prepared.rows)
    evidence_store.set_artifact_content(session, artifact_id, prepared.content)
    artifact_service.store_evidence_views(session, artifact_id, prepared.views)
    fresh = repository.get_artifact(uow, artifact_id)
    assert fresh is not None
    artifact = artifact_from_row(fresh)
    uow.record(action, "artifact", artifact_id, artifact)
    return artifact


def _give_up(uow: UnitOfWork, artifact_id: str, prepared: Prepared, *, created: bool) -> None:
    """After a failure: end the transaction, then remove what was written ahead of it."""
    uow.rollback()
    if prepared.batch_token is not None:
        component_index.abandon(uow.db, artifact_id, prepared.batch_token)
        if created:
            with contextlib.suppress(Exception), uow.outside(writes=True) as scope:
                evidence_store.delete_artifact(scope.session, artifact_id)


def attach_content(
    uow: UnitOfWork,
    blobs: BlobStore,
    artifact_id: str,
    spool: Spool,
    *,
    strict: bool,
    media_type: str | None,
    limits: UploadLimits,
) -> tuple[Artifact, bool]:
    """Attach spooled bytes to an existing artifact. Returns (artifact, newly attached)."""
    with uow.outside() as scope:  # a snapshot for the prepare phase; attach checks again
        row = repository.get_artifact(scope, artifact_id)
        if row is None:
            raise ArtifactNotFound()
        trusted = key_service.trusted_keys(scope)
    if row.content_digest is not None:
        return _same_or_conflict(row, spool)
    artifact = artifact_from_row(row)
    prepared = _prepare(
        uow, blobs, spool, artifact.kind, artifact.metadata_json, row.content_hash, (artifact_id, row.run_id),
        strict=strict, media_type=media_type, limits=limits, trusted=trusted,
    )  # fmt: skip
    try:
        if component_index.in_batches(uow.db, prepared.rows):
            _index_ahead(uow, prepared, artifact_id)
        current = repository.get_artifact(uow, artifact_id, for_update=True)
        if current is None:
            raise ArtifactNotFound()
        if current.content_digest is not None:  # a concurrent upload won the race
            outcome = _same_or_conflict(current, spool)
            _give_up(uow, artifact_id, prepared, created=False)
            return outcome
        return _attach(uow, artifact_id, prepared, "artifact.content.attach"), True
    except BaseException:
        _give_up(uow, artifact_id, prepared, created=False)
        raise


def _same_or_conflict(row: Any, spool: Spool) -> tuple[Artifact, bool]:
    spool.discard()
    if row.content_digest == spool.digest:
        return artifact_from_row(row), False
    raise Conflict(
        f"Artifact content is write-once: it already holds {row.content_digest}, "
        f"and these bytes are {spool.digest}"
    )


def create_with_content(
    uow: UnitOfWork,
    blobs: BlobStore,
    data: ArtifactCreate,
    spool: Spool,
    *,
    strict: bool,
    media_type: str | None,
    limits: UploadLimits,
) -> Artifact:
    """Create an artifact and attach its content in one step: both or neither.

    A large index on SQLite is written ahead in batches, so the artifact row is created
    first, visible without content while it is indexed, and removed again on failure."""
    with uow.outside() as scope:
        if not run_service.run_exists(scope, data.run_id):
            raise RunNotFound()
        trusted = key_service.trusted_keys(scope)
    values = new_artifact_values(data, uow.clock())
    artifact_id = values["id"]
    prepared = _prepare(
        uow, blobs, spool, data.kind, data.metadata_json, data.content_hash, (artifact_id, data.run_id),
        strict=strict, media_type=media_type, limits=limits, trusted=trusted,
    )  # fmt: skip
    ahead = component_index.in_batches(uow.db, prepared.rows)
    if ahead:
        with uow.outside(writes=True) as scope:
            if not run_service.run_exists(scope, data.run_id):
                raise RunNotFound()
            repository.insert_artifact(scope, values)
    try:
        if ahead:
            _index_ahead(uow, prepared, artifact_id)
        elif not run_service.run_exists(uow, data.run_id):
            raise RunNotFound()
        else:
            repository.insert_artifact(uow, values)
        return _attach(uow, artifact_id, prepared, "artifact.create")
    except BaseException:
        _give_up(uow, artifact_id, prepared, created=ahead)
        raise
