"""/maestro/waivers: waivers of policy rules (rules of scope and time: service docstring)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from maestro.api.deps import PageDep, SettingsDep, UowDep
from maestro.api.responses import json_response, page_response
from maestro.models import ErrorBody
from maestro.policies.contract import RULE_NAME_PATTERN
from maestro.waivers import service as waiver_service
from maestro.waivers.contract import Waiver, WaiverCreate
from maestro.waivers.repository import WaiverFilter

router = APIRouter(prefix="/maestro/waivers", tags=["policies"])
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post("", status_code=201, response_model=Waiver, responses={422: {"model": ErrorBody}})
def create_waiver(body: WaiverCreate, uow: UowDep, settings: SettingsDep) -> Response:
    waiver = waiver_service.create_waiver(uow, body, max_days=settings.waiver_max_days)
    return json_response(waiver, 201, {"Location": f"/maestro/waivers/{waiver.id}"})


@router.get("", response_model=list[Waiver], responses={422: {"model": ErrorBody}})
def list_waivers(
    request: Request,
    uow: UowDep,
    page: PageDep,
    rule: Annotated[str | None, Query(pattern=RULE_NAME_PATTERN)] = None,
    run_id: Annotated[str | None, Query(max_length=64, description="Waivers of this one run.")] = None,
    active: Annotated[bool | None, Query(description="true: in force now; false: expired or revoked.")] = (
        None
    ),
) -> Response:
    where = WaiverFilter(rule=rule, run_id=run_id, active=active)
    waivers, after = waiver_service.list_waivers(uow, where, page)
    return page_response(request, waivers, Waiver, after)


@router.get("/{waiver_id}", response_model=Waiver, responses=_ERRORS)
def get_waiver(waiver_id: str, uow: UowDep) -> Response:
    return json_response(waiver_service.get_waiver(uow, waiver_id))


@router.post("/{waiver_id}/revoke", response_model=Waiver, responses=_ERRORS)
def revoke_waiver(waiver_id: str, uow: UowDep) -> Response:
    """Stop the waiver applying from now on; it is kept, with ``revoked_at``. Repeating it
    answers the first revocation."""
    return json_response(waiver_service.revoke_waiver(uow, waiver_id))
