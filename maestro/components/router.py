"""Portfolio queries: /maestro/components and /maestro/runs/{a}/sbom-diff/{b}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from maestro.api.deps import PageDep, UowDep
from maestro.api.responses import JSON, page_response
from maestro.components import service as component_service
from maestro.models import ComponentMatch, ErrorBody, SbomDiff

router = APIRouter(tags=["components"])


@router.get(
    "/maestro/components",
    response_model=list[ComponentMatch],
    responses={422: {"model": ErrorBody}},
)
def find_components(
    request: Request,
    uow: UowDep,
    page: PageDep,
    purl: Annotated[
        str | None,
        Query(max_length=1000, description="pkg:type/ns/name[@version]: with @version exact, else any"),
    ] = None,
    name: Annotated[str | None, Query(max_length=512)] = None,
    version: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Which runs' SBOMs contain a package."""
    items, after = component_service.find_components(uow, page, purl=purl, name=name, version=version)
    return page_response(request, items, ComponentMatch, after)


@router.get(
    "/maestro/runs/{base_run_id}/sbom-diff/{head_run_id}",
    response_model=SbomDiff,
    responses={404: {"model": ErrorBody}},
)
def diff_run_sboms(base_run_id: str, head_run_id: str, uow: UowDep) -> Response:
    """Components added, removed and changed in version from one run's SBOMs to another's.

    Computed in one pass before the first byte is sent (so a missing run is still a 404),
    then streamed from temporary files: memory stays flat however large the runs are."""
    diff = component_service.sbom_diff(uow, base_run_id, head_run_id)
    return StreamingResponse(diff.chunks(), media_type=JSON, background=BackgroundTask(diff.close))
