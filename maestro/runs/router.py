"""/maestro/runs: create, read, list, update; the manifest and the release gate."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic_core import PydanticCustomError

from maestro.api.deps import IntelGraphDep, PageDep, UowDep
from maestro.api.responses import json_response, page_response
from maestro.errors import NotAcceptable, PreconditionFailed, ValidationFailed
from maestro.models import (
    ErrorBody,
    LineageDirection,
    ReleaseGateResult,
    Run,
    RunCreate,
    RunLineage,
    RunManifest,
    RunStatus,
    RunUpdate,
    Timestamp,
    parse_timestamp,
)
from maestro.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, Cursor
from maestro.platform.threads import run_sync
from maestro.platform.uow import UnitOfWork
from maestro.policies import render
from maestro.runs import lineage as lineage_service
from maestro.runs import release_gate as gate_service
from maestro.runs import service as run_service
from maestro.runs.repository import RunFilter

router = APIRouter(prefix="/maestro/runs", tags=["runs"])
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


def _parse_if_match(value: str | None) -> list[int] | None:
    """ETag versions from If-Match; ``*`` means any (None). Unknown tags match nothing."""
    if value is None or value.strip() == "*":
        return None
    versions = []
    for tag in value.split(","):
        tag = tag.strip().removeprefix("W/")
        if tag.startswith('"v') and tag.endswith('"') and tag[2:-1].isdigit():
            versions.append(int(tag[2:-1]))
    if not versions:
        raise PreconditionFailed("If-Match does not name an ETag this server issued")
    return versions


def _parse_as_of(value: str) -> datetime:
    """A date means its first instant in UTC; anything else must be an RFC 3339 timestamp."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        return parse_timestamp(value)
    except (ValueError, PydanticCustomError) as exc:
        raise ValidationFailed.for_field(
            "as_of", f"must be a date (YYYY-MM-DD) or an RFC 3339 timestamp ({exc})"
        ) from None


def _matches_none(header: str, tag: str) -> bool:
    """If-None-Match uses weak comparison (RFC 9110): ``W/"v1"`` matches ``"v1"``."""
    candidates = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in candidates or tag in candidates


@router.post("", status_code=201, response_model=Run, responses=_ERRORS)
async def create_run(body: RunCreate, uow: UowDep, intelgraph: IntelGraphDep) -> Response:
    if intelgraph is not None:  # on the event loop: a stalled IntelGraph holds no worker thread
        await intelgraph.verify(body.related_entity_ids, body.related_decision_ids)
    return await run_sync(_create_run, uow, body)


def _create_run(uow: UnitOfWork, body: RunCreate) -> Response:
    run, version = run_service.create_run(uow, body)
    return json_response(run, 201, {"Location": f"/maestro/runs/{run.id}", "ETag": run_service.etag(version)})


@router.get("", response_model=list[Run], responses=_ERRORS)
def list_runs(
    request: Request,
    uow: UowDep,
    page: PageDep,
    owner: Annotated[str | None, Query(max_length=320)] = None,
    status: RunStatus | None = None,
    entity_id: Annotated[str | None, Query(max_length=256)] = None,
    decision_id: Annotated[str | None, Query(max_length=256)] = None,
    started_after: Annotated[Timestamp | None, Query(description="Inclusive.")] = None,
    started_before: Annotated[Timestamp | None, Query(description="Exclusive.")] = None,
) -> Response:
    where = RunFilter(
        owner=owner,
        status=status.value if status else None,
        entity_id=entity_id,
        decision_id=decision_id,
        started_after=started_after,
        started_before=started_before,
    )
    runs, after = run_service.list_runs(uow, where, page)
    return page_response(request, runs, Run, after)


@router.get(
    "/{run_id}",
    response_model=Run,
    responses={**_ERRORS, 304: {"description": "If-None-Match names the run's current ETag."}},
)
def get_run(run_id: str, uow: UowDep, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    run, version = run_service.get_run(uow, run_id)
    tag = run_service.etag(version)
    if if_none_match is not None and _matches_none(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return json_response(run, headers={"ETag": tag})


@router.patch(
    "/{run_id}",
    response_model=Run,
    responses={**_ERRORS, 409: {"model": ErrorBody}, 412: {"model": ErrorBody}},
)
async def update_run(
    run_id: str,
    body: RunUpdate,
    uow: UowDep,
    intelgraph: IntelGraphDep,
    if_match: Annotated[str | None, Header(description="An ETag from GET; 412 if the run changed.")] = None,
) -> Response:
    versions = _parse_if_match(if_match)
    if intelgraph is not None:
        await intelgraph.verify(body.related_entity_ids, body.related_decision_ids)
    return await run_sync(_update_run, uow, run_id, body, versions)


def _update_run(uow: UnitOfWork, run_id: str, body: RunUpdate, versions: list[int] | None) -> Response:
    run, version = run_service.update_run(uow, run_id, body, if_match=versions)
    return json_response(run, headers={"ETag": run_service.etag(version)})


@router.get(
    "/{run_id}/manifest",
    response_model=RunManifest,
    responses={
        200: {
            "description": "The run, one page of its artifacts, its newest packs, the compliance report "
            "and the gate.",
            "headers": {
                "Link": {
                    "description": '`<url>; rel="next"`: the manifest\'s next page of artifacts.',
                    "schema": {"type": "string"},
                }
            },
        },
        **_ERRORS,
    },
)
def get_run_manifest(
    request: Request,
    run_id: str,
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Artifacts per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="Opaque; take it from artifacts_next or Link."),
    ] = None,
) -> Response:
    after = Cursor.decode(cursor) if cursor else None
    page = gate_service.manifest(uow, run_id, limit, after)
    update: dict[str, str] = {}
    headers: dict[str, str] = {}
    if page.artifacts_after is not None:
        update["artifacts_next"] = str(request.url.include_query_params(cursor=page.artifacts_after.encode()))
        headers["Link"] = f'<{update["artifacts_next"]}>; rel="next"'
    if page.packs_after is not None:
        query = {"run_id": run_id, "cursor": page.packs_after.encode()}
        update["disclosure_packs_next"] = str(
            request.url.replace(path="/maestro/disclosure-packs", query="").include_query_params(**query)
        )
    return json_response(page.manifest.model_copy(update=update), headers=headers)


_GATE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The verdict: JSON (the default, also for `*/*`), JUnit XML for "
        "`Accept: application/xml` (one testcase per rule), or a Markdown summary for "
        "`Accept: text/markdown` (docs/policies.md, Renderings).",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/markdown": {"schema": {"type": "string"}},
        },
    },
    406: {"model": ErrorBody, "description": "Accept names no supported type; the body lists them."},
    **_ERRORS,
}


@router.get("/{run_id}/release-gate", response_model=ReleaseGateResult, responses=_GATE_RESPONSES)
def check_release_gate(
    run_id: str,
    uow: UowDep,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    policy: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Evaluate under this policy (an id, or builtin:<name>) instead of the assigned one.",
        ),
    ] = None,
    policy_version: Annotated[
        int | None, Query(ge=1, description="With policy: this version instead of the newest in force.")
    ] = None,
    as_of: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Judge rules (versions, effective_on dates) as they stood at this instant: "
            "an RFC 3339 timestamp, or a date (YYYY-MM-DD, its start in UTC).",
        ),
    ] = None,
) -> Response:
    """The verdict, each rule's result, the policy version and the input digest."""
    if policy_version is not None and policy is None:
        raise ValidationFailed.for_field("policy_version", "needs policy")
    moment = _parse_as_of(as_of) if as_of is not None else None
    rendering = render.negotiate(accept)
    if rendering is None:
        raise NotAcceptable.offering(accept or "", render.SUPPORTED)
    request = gate_service.GateRequest(policy=policy, version=policy_version, as_of=moment)
    result = gate_service.release_gate(uow, run_id, request)
    media = render.MEDIA_TYPES[rendering]
    if rendering is not render.Rendering.JSON:
        media += "; charset=utf-8"
    return Response(render.render(result, rendering), 200, {"Vary": "Accept"}, media)


@router.get("/{run_id}/lineage", response_model=RunLineage, responses=_ERRORS)
def get_run_lineage(
    run_id: str,
    uow: UowDep,
    direction: Annotated[
        LineageDirection, Query(description="up: what the run depends on; down: what depends on it.")
    ] = LineageDirection.UP,
    depth: Annotated[
        int, Query(ge=1, le=lineage_service.MAX_DEPTH, description="Hops to follow.")
    ] = lineage_service.DEFAULT_DEPTH,
) -> Response:
    """The runs within ``depth`` dependency hops, at most 1000 of them (then ``truncated``)."""
    return json_response(lineage_service.lineage(uow, run_id, direction, depth))
