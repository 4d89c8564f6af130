"""/maestro/disclosure-packs: summaries of runs with their artifact manifests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from maestro.api.deps import BlobStoreDep, PageDep, UowDep
from maestro.api.responses import json_response, page_response
from maestro.audit.router import SignerDep, TenantDep
from maestro.models import DisclosurePack, DisclosurePackCreate, ErrorBody
from maestro.packs import export as pack_export
from maestro.packs import service as pack_service
from maestro.verdicts import follower

router = APIRouter(prefix="/maestro/disclosure-packs", tags=["disclosure packs"])
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post("", status_code=201, response_model=DisclosurePack, responses=_ERRORS)
def create_disclosure_pack(body: DisclosurePackCreate, uow: UowDep) -> Response:
    pack = pack_service.create_pack(uow, body)
    return json_response(pack, 201, {"Location": f"/maestro/disclosure-packs/{pack.id}"})


@router.get("", response_model=list[DisclosurePack], responses=_ERRORS)
def list_disclosure_packs(
    request: Request,
    uow: UowDep,
    page: PageDep,
    run_id: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    items, after = pack_service.list_packs(uow, page, run_id=run_id)
    return page_response(request, items, DisclosurePack, after)


@router.get("/{pack_id}", response_model=DisclosurePack, responses=_ERRORS)
def get_disclosure_pack(pack_id: str, uow: UowDep) -> Response:
    pack = pack_service.get_pack(uow, pack_id)
    return json_response(pack)


@router.get(
    "/{pack_id}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The pack as one tar.gz (streamed): manifest.json, the artifacts' blobs, "
            "the audit events with inclusion proofs and their signed checkpoint, and "
            "attestation.dsse.json signing every other file's sha256.",
            "content": {"application/gzip": {}},
        },
        404: {"model": ErrorBody},
        503: {"model": ErrorBody, "description": "The blob store is unavailable or busy."},
    },
)
def export_disclosure_pack(
    pack_id: str, uow: UowDep, _tenant: TenantDep, blobs: BlobStoreDep, signer: SignerDep
) -> Response:
    """Read everything the archive states, end the read, then stream the blobs through.
    The gate evaluator catches up first, so the archived verdict is the current one and
    its ``gate.evaluated`` event is in the archived log."""
    follower.catch_up(uow.db, signer, uow.tenant_id)
    plan = pack_export.prepare(uow, pack_id, signer)
    headers = {
        "Content-Disposition": f'attachment; filename="pack-{plan.pack_id}.tar.gz"',
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(
        pack_export.stream(plan, blobs, signer), 200, headers, media_type="application/gzip"
    )
