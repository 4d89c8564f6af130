"""/maestro/policies: create a policy or a new version of one, read, list, and versions."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import TypeAdapter

from maestro.api.deps import PageDep, UowDep
from maestro.api.responses import JSON, json_response, page_response
from maestro.models import ErrorBody
from maestro.policies.contract import Policy, PolicyCreate
from maestro.policy_registry import service as policy_service

router = APIRouter(prefix="/maestro/policies", tags=["policies"])
_VERSIONS = TypeAdapter(list[Policy])
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post(
    "",
    status_code=201,
    response_model=Policy,
    responses={
        200: {"model": Policy, "description": "Same content as the newest version: no new one."},
        422: {"model": ErrorBody},
    },
)
def create_policy(body: PolicyCreate, uow: UowDep) -> Response:
    """A new policy, or, for a name that exists, its next version (201); 200 with the
    newest version when the content is the same as that version's."""
    policy, created = policy_service.create_policy(uow, body)
    return json_response(policy, 201 if created else 200, {"Location": f"/maestro/policies/{policy.id}"})


@router.get("", response_model=list[Policy], responses=_ERRORS)
def list_policies(request: Request, uow: UowDep, page: PageDep) -> Response:
    """The newest version of each policy, newest policy first."""
    policies, after = policy_service.list_policies(uow, page)
    return page_response(request, policies, Policy, after)


@router.get("/{policy_id}", response_model=Policy, responses=_ERRORS)
def get_policy(policy_id: str, uow: UowDep) -> Response:
    """The newest version (``builtin:<name>`` reads a built-in policy as shipped)."""
    return json_response(policy_service.get_policy(uow, policy_id))


@router.get("/{policy_id}/versions", response_model=list[Policy], responses=_ERRORS)
def list_policy_versions(policy_id: str, uow: UowDep) -> Response:
    """Every version, oldest first."""
    versions = policy_service.list_versions(uow, policy_id)
    return Response(_VERSIONS.dump_json(versions), 200, media_type=JSON)
