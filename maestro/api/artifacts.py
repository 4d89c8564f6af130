"""/maestro/artifacts: evidence attached to runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from maestro.api.deps import DatabaseDep, PageDep
from maestro.api.responses import json_response, page_response
from maestro.models import Artifact, ArtifactCreate, ArtifactKind, ErrorBody
from maestro.services import artifacts as artifact_service

router = APIRouter(prefix="/maestro/artifacts", tags=["artifacts"])
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post("", status_code=201, response_model=Artifact, responses=_ERRORS)
def create_artifact(body: ArtifactCreate, db: DatabaseDep) -> Response:
    with db.write() as session:
        artifact = artifact_service.create_artifact(session, body)
    return json_response(artifact, 201, {"Location": f"/maestro/artifacts/{artifact.id}"})


@router.get("", response_model=list[Artifact], responses=_ERRORS)
def list_artifacts(
    request: Request,
    db: DatabaseDep,
    page: PageDep,
    run_id: Annotated[str | None, Query(max_length=256)] = None,
    kind: ArtifactKind | None = None,
) -> Response:
    with db.read() as session:
        items, after = artifact_service.list_artifacts(session, page, run_id=run_id, kind=kind)
    return page_response(request, items, Artifact, after)


@router.get("/{artifact_id}", response_model=Artifact, responses=_ERRORS)
def get_artifact(artifact_id: str, db: DatabaseDep) -> Response:
    with db.read() as session:
        artifact = artifact_service.get_artifact(session, artifact_id)
    return json_response(artifact)
