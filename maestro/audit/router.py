"""/maestro/audit and /maestro/keys: the tenant's log, its signed checkpoint, proofs,
and the public keys that verify them.

Every read takes the tenant from ``current_tenant_id`` alone, so scoping the log
by the caller's token is one change there.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from maestro.api.deps import UowDep
from maestro.api.responses import JSON, json_response, page_response
from maestro.audit import repository, sequencer, signing_key
from maestro.audit.models import (
    AuditEventItem,
    CheckpointInfo,
    ConsistencyProof,
    InclusionProof,
    SigningKeyInfo,
)
from maestro.audit.repository import AuditFilter
from maestro.models import ErrorBody, Timestamp
from maestro.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, PositionCursor

router = APIRouter(tags=["audit"])
_KEYS = TypeAdapter(list[SigningKeyInfo])
_SIGNER_LOCK = threading.Lock()
_INVALID: dict[str, Any] = {"model": ErrorBody, "description": "`validation_failed`: a bad parameter."}
_NEXT = {
    "Link": {"description": '`<url>; rel="next"` when a further page exists.', "schema": {"type": "string"}}
}
_SIZE = Query(ge=0, le=2**62)


def current_tenant_id(uow: UowDep) -> str:
    """The caller's tenant: every read of the log is scoped by it. Its queued events are
    integrated first, before the read's transaction begins, so the log read (and the
    checkpoint signed) covers every change committed before the request."""
    sequencer.integrate_now(uow.db, uow.tenant_id)
    return uow.tenant_id


def get_signer(request: Request) -> signing_key.Signer:
    """The process's signer, loaded (or the key generated) on first use."""
    return state_signer(request.app.state)


def state_signer(state: Any) -> signing_key.Signer:
    """The signer kept in the app's state (``get_signer``; the gate evaluator's too)."""
    with _SIGNER_LOCK:
        if getattr(state, "audit_signer", None) is None:
            settings = state.settings
            url = str(settings.public_url) if settings.public_url else None
            state.audit_signer = signing_key.load(settings.data_dir, settings.signing_key, url)
    signer: signing_key.Signer = state.audit_signer
    return signer


TenantDep = Annotated[str, Depends(current_tenant_id)]
SignerDep = Annotated[signing_key.Signer, Depends(get_signer)]


@router.get("/maestro/keys", response_model=list[SigningKeyInfo])
def list_signing_keys(signer: SignerDep) -> Response:
    """The public keys audit checkpoints are signed with, retired ones included."""
    keys = [SigningKeyInfo.model_validate(key, from_attributes=True) for key in signer.published]
    return Response(_KEYS.dump_json(keys), 200, media_type=JSON)


@router.get(
    "/maestro/audit",
    response_model=list[AuditEventItem],
    responses={200: {"description": "One page of events, oldest first.", "headers": _NEXT}, 422: _INVALID},
)
def list_audit_events(
    request: Request,
    uow: UowDep,
    tenant_id: TenantDep,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=256)] = None,
    actor: Annotated[str | None, Query(max_length=64, description="A token id.")] = None,
    action: Annotated[str | None, Query(max_length=64, examples=["run.create"])] = None,
    since: Annotated[Timestamp | None, Query(description="Inclusive.")] = None,
    until: Annotated[Timestamp | None, Query(description="Exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_LENGTH, description="Opaque; take it from the Link header.")
    ] = None,
) -> Response:
    """The tenant's events in log order, filtered; every filter is an index range."""
    where = AuditFilter(object_type, object_id, actor, action, since, until)
    after = PositionCursor.decode(cursor).position if cursor else None
    rows, more = repository.list_events(uow.session, tenant_id, where, limit, after)
    items = [AuditEventItem(index=r.index, leaf_hash=r.leaf_hash.hex(), event=r.event) for r in rows]
    return page_response(request, items, AuditEventItem, None if more is None else PositionCursor(more))


@router.get(
    "/maestro/audit/checkpoint",
    response_model=CheckpointInfo,
    responses={
        200: {
            "description": "The latest checkpoint: a C2SP signed note (text/plain, the default) "
            "or, for `Accept: application/json`, the same with its fields.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def get_audit_checkpoint(request: Request, uow: UowDep, tenant_id: TenantDep, signer: SignerDep) -> Response:
    """Signed when asked (Ed25519 is deterministic), so every committed event is covered at once."""
    head = repository.head(uow.session, tenant_id)
    note = signer.sign(tenant_id, head.size, head.root)
    if "application/json" not in request.headers.get("accept", ""):
        return Response(note, 200, media_type="text/plain; charset=utf-8")
    info = CheckpointInfo(
        origin=signer.origin(tenant_id),
        size=head.size,
        root_hash=head.root.hex(),
        key_id=signer.key_id,
        note=note,
    )
    return json_response(info)


@router.get("/maestro/audit/proofs/inclusion", response_model=InclusionProof, responses={422: _INVALID})
def get_inclusion_proof(
    uow: UowDep,
    tenant_id: TenantDep,
    index: Annotated[int, _SIZE],
    size: Annotated[int, Query(ge=1, le=2**62, description="A checkpoint's tree size.")],
) -> Response:
    """The audit path showing event ``index`` is in the tree of ``size`` events."""
    hashes = repository.inclusion_proof(uow.session, tenant_id, index, size)
    root = repository.root_at(uow.session, tenant_id, size)
    leaf = repository.leaf_hash(uow.session, tenant_id, index)
    proof = InclusionProof(
        index=index, size=size, root_hash=root.hex(), leaf_hash=leaf.hex(), hashes=[h.hex() for h in hashes]
    )
    return json_response(proof)


@router.get("/maestro/audit/proofs/consistency", response_model=ConsistencyProof, responses={422: _INVALID})
def get_consistency_proof(
    uow: UowDep,
    tenant_id: TenantDep,
    from_size: Annotated[int, Query(alias="from", ge=0, le=2**62)],
    to_size: Annotated[int, Query(alias="to", ge=0, le=2**62)],
) -> Response:
    """Proof that the tree of ``from`` events is a prefix of the tree of ``to`` events."""
    hashes = repository.consistency_proof(uow.session, tenant_id, from_size, to_size)
    old_root = repository.root_at(uow.session, tenant_id, from_size)
    new_root = repository.root_at(uow.session, tenant_id, to_size)
    proof = ConsistencyProof(
        from_size=from_size,
        to_size=to_size,
        from_root_hash=old_root.hex(),
        to_root_hash=new_root.hex(),
        hashes=[h.hex() for h in hashes],
    )
    return Response(proof.model_dump_json(by_alias=True), 200, media_type=JSON)
