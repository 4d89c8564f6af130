"""The bulk of an artifact's evidence, which lists and manifests leave out:
the full evidence, the archive members and the indexed components, each paged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from maestro.api.deps import PageDep, UowDep
from maestro.api.responses import json_response, page_response
from maestro.artifacts import service as artifact_service
from maestro.models import ArtifactEvidence, ComponentMatch, ErrorBody, EvidenceMember
from maestro.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, PositionCursor

router = APIRouter(prefix="/maestro/artifacts/{artifact_id}", tags=["artifacts"])

_NOT_FOUND: dict[str, Any] = {
    "model": ErrorBody,
    "description": "`artifact_not_found`: no such artifact; `content_not_found`: it has no content yet.",
}
_INVALID: dict[str, Any] = {
    "model": ErrorBody,
    "description": "`validation_failed`: a bad `limit` or `cursor`.",
}
_NEXT = {
    "Link": {"description": '`<url>; rel="next"` when a further page exists.', "schema": {"type": "string"}}
}


@router.get(
    "/evidence",
    response_model=ArtifactEvidence,
    responses={200: {"description": "The full evidence, without members."}, 404: _NOT_FOUND},
)
def get_artifact_evidence(artifact_id: str, uow: UowDep) -> Response:
    """Every error and warning and the whole summary; the artifact itself shows a bounded view."""
    evidence = artifact_service.get_evidence(uow, artifact_id)
    return json_response(evidence)


@router.get(
    "/evidence/members",
    response_model=list[EvidenceMember],
    responses={
        200: {"description": "One page of members, in archive order.", "headers": _NEXT},
        404: _NOT_FOUND,
        422: _INVALID,
    },
)
def list_evidence_members(
    request: Request,
    artifact_id: str,
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="Opaque; take it from the Link header."),
    ] = None,
) -> Response:
    """An archive's members, each with its own (compacted) evidence; empty for other content."""
    after = PositionCursor.decode(cursor) if cursor else None
    items, more = artifact_service.list_members(uow, artifact_id, limit, after)
    return page_response(request, items, EvidenceMember, more)


@router.get(
    "/components",
    response_model=list[ComponentMatch],
    responses={
        200: {"description": "One page of the artifact's indexed components.", "headers": _NEXT},
        404: {"model": ErrorBody, "description": "`artifact_not_found`: no such artifact."},
        422: _INVALID,
    },
)
def list_artifact_components(request: Request, artifact_id: str, uow: UowDep, page: PageDep) -> Response:
    """The components this artifact's content added to the index (empty before an upload)."""
    items, after = artifact_service.list_components(uow, artifact_id, page)
    return page_response(request, items, ComponentMatch, after)
