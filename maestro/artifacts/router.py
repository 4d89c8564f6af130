"""/maestro/artifacts: evidence attached to runs.

``POST /maestro/artifacts`` takes JSON (the seed's contract) or
``multipart/form-data`` with an ``artifact`` part (the same JSON) and a ``file``
part (the content), creating the artifact and uploading in one request.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from maestro.api.deps import PageDep, UowDep
from maestro.api.responses import json_response, page_response
from maestro.artifacts import service as artifact_service
from maestro.artifacts import upload as content_service
from maestro.blobs.spool import Spool
from maestro.bulkhead import Lanes
from maestro.config import Settings
from maestro.models import Artifact, ArtifactCreate, ArtifactKind, ErrorBody

_MULTIPART_DOC: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["artifact", "file"],
                    "additionalProperties": False,
                    "properties": {
                        "artifact": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "description": "The ArtifactCreate JSON document.",
                        },
                        "file": {"type": "string", "format": "binary"},
                    },
                },
            }
        }
    }
}
_CHUNK = 1 << 20


def _strict(request: Request) -> bool:
    value = request.query_params.get("strict", "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise RequestValidationError(
            [{"loc": ("query", "strict"), "msg": "must be true or false", "type": "bool"}]
        )
    return value in ("true", "1")


def _copy_into(upload: UploadFile, spool: Spool) -> None:
    upload.file.seek(0)
    while chunk := upload.file.read(_CHUNK):
        spool.write(chunk)


def _read_form(form: FormData) -> tuple[ArtifactCreate, UploadFile]:
    raw, upload = form.get("artifact"), form.get("file")
    if not isinstance(raw, str):
        raise RequestValidationError(
            [
                {
                    "loc": ("artifact",),
                    "msg": "a form field with the artifact's JSON is required",
                    "type": "missing",
                }
            ]
        )
    if not isinstance(upload, UploadFile):
        raise RequestValidationError(
            [{"loc": ("file",), "msg": "a file part with the content is required", "type": "missing"}]
        )
    try:
        data = ArtifactCreate.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("artifact", *e["loc"])} for e in exc.errors()]) from None
    return data, upload


async def create_artifact_with_content(request: Request) -> Response:
    """The multipart form of POST /maestro/artifacts."""
    settings: Settings = request.app.state.settings
    strict = _strict(request)
    form = await request.form(max_files=1, max_fields=2, max_part_size=1024 * 1024)
    try:
        data, upload = _read_form(form)
        spool = Spool(
            settings.spool_dir(),
            settings.max_upload_bytes,
            content_service.hash_algorithms(data.content_hash),
        )
        try:
            await run_in_threadpool(_copy_into, upload, spool)
            lanes: Lanes = request.app.state.lanes
            artifact = await lanes.uploads.run(
                content_service.create_with_content,
                request.scope["state"]["uow"],
                request.app.state.blobs,
                data,
                spool,
                strict=strict,
                media_type=content_service.clean_media_type(upload.content_type),
                limits=content_service.UploadLimits(request.app.state.parser),
            )
        finally:
            spool.discard()
    finally:
        await form.close()
    return json_response(artifact, 201, {"Location": f"/maestro/artifacts/{artifact.id}"})


class ArtifactRoute(APIRoute):
    """Sends multipart POSTs to the upload handler; everything else to FastAPI's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        default = super().get_route_handler()

        async def handler(request: Request) -> Response:
            content_type = request.headers.get("content-type", "").lower()
            if request.method == "POST" and content_type.startswith("multipart/form-data"):
                # FastAPI solves no dependency on this path: the app-wide guards (the
                # principal and its role first) run here, or a multipart upload would
                # need no token and land in tenant default.
                for guard in request.app.state.guards:
                    await guard(request)
                return await create_artifact_with_content(request)
            return await default(request)

        return handler


router = APIRouter(prefix="/maestro/artifacts", tags=["artifacts"], route_class=ArtifactRoute)
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post("", status_code=201, response_model=Artifact, responses=_ERRORS, openapi_extra=_MULTIPART_DOC)
def create_artifact(
    body: ArtifactCreate,
    uow: UowDep,
    strict: Annotated[
        bool, Query(description="multipart only: refuse content that does not verify.")
    ] = False,
) -> Response:
    artifact = artifact_service.create_artifact(uow, body)
    return json_response(artifact, 201, {"Location": f"/maestro/artifacts/{artifact.id}"})


@router.get("", response_model=list[Artifact], responses=_ERRORS)
def list_artifacts(
    request: Request,
    uow: UowDep,
    page: PageDep,
    run_id: Annotated[str | None, Query(max_length=256)] = None,
    kind: ArtifactKind | None = None,
) -> Response:
    items, after = artifact_service.list_artifacts(uow, page, run_id=run_id, kind=kind)
    return page_response(request, items, Artifact, after)


@router.get("/{artifact_id}", response_model=Artifact, responses=_ERRORS)
def get_artifact(artifact_id: str, uow: UowDep) -> Response:
    artifact = artifact_service.get_artifact(uow, artifact_id)
    return json_response(artifact)
