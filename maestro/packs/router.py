"""/maestro/disclosure-packs: summaries of runs with their artifact manifests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from maestro.api.deps import PageDep, UowDep
from maestro.api.responses import json_response, page_response
from maestro.models import DisclosurePack, DisclosurePackCreate, ErrorBody
from maestro.packs import service as pack_service

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
