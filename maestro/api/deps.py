"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from maestro.artifacts.upload import UploadLimits
from maestro.blobs.base import BlobStore
from maestro.bulkhead import Lanes
from maestro.config import Settings
from maestro.errors import (
    ArtifactNotFound,
    DisclosurePackNotFound,
    NotFound,
    PolicyAssignmentNotFound,
    PolicyNotFound,
    RunNotFound,
    TrustedKeyNotFound,
    WaiverNotFound,
)
from maestro.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
    Cursor,
    Order,
    Page,
)
from maestro.platform.uow import STATE_KEY, UnitOfWork
from maestro.services.intelgraph import IntelGraph

UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # the flag RequestContextMiddleware sets
_NOT_FOUND: dict[str, type[NotFound]] = {
    "run_id": RunNotFound,
    "base_run_id": RunNotFound,
    "head_run_id": RunNotFound,
    "artifact_id": ArtifactNotFound,
    "pack_id": DisclosurePackNotFound,
    "key_id": TrustedKeyNotFound,
    "policy_id": PolicyNotFound,
    "assignment_id": PolicyAssignmentNotFound,
    "waiver_id": WaiverNotFound,
}


async def get_unit_of_work(request: Request) -> UnitOfWork:
    """The request's unit of work (``maestro.api.unit_of_work`` opens and ends it)."""
    uow: UnitOfWork = request.scope["state"][STATE_KEY]
    return uow


async def get_blob_store(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_intelgraph(request: Request) -> IntelGraph | None:
    client: IntelGraph | None = request.app.state.intelgraph
    return client


async def get_lanes(request: Request) -> Lanes:
    lanes: Lanes = request.app.state.lanes
    return lanes


async def get_upload_limits(request: Request) -> UploadLimits:
    return UploadLimits(request.app.state.parser)


async def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            pattern=CURSOR_PATTERN,
            description="Opaque; take it from the Link header.",
        ),
    ] = None,
    order: Annotated[Order, Query(description="desc: newest first.")] = Order.DESC,
) -> Page:
    return Page(limit=limit, after=Cursor.decode(cursor) if cursor else None, order=order)


async def refuse_unsupported_media_type(request: Request) -> None:
    """415 for a body that is not JSON, decided here rather than in the middleware so
    that routing runs first: a method the path does not have is a 405 whatever the body."""
    if request.scope.get("state", {}).get(UNSUPPORTED_MEDIA_TYPE):
        raise HTTPException(415, "Content-Type must be application/json (or omitted)")


async def refuse_unstorable_parameters(request: Request) -> None:
    """No stored id or value contains NUL (bodies refuse it; PostgreSQL cannot store it),
    so an id with one names nothing (404) and a filter with one is a 422 - checked before
    any query, alike on SQLite and PostgreSQL, for every route including future ones."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise _NOT_FOUND.get(name, NotFound)()
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": "must not contain NUL characters", "type": "value_error"}]
            )


# Checks every request shares, after its principal (``maestro.app`` puts them in order).
GLOBAL_GUARDS = (refuse_unsupported_media_type, refuse_unstorable_parameters)
UowDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
IntelGraphDep = Annotated[IntelGraph | None, Depends(get_intelgraph)]
PageDep = Annotated[Page, Depends(get_page)]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LanesDep = Annotated[Lanes, Depends(get_lanes)]
UploadLimitsDep = Annotated[UploadLimits, Depends(get_upload_limits)]
