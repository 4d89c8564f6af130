"""/maestro/policy-assignments: which policy judges which runs (precedence: service docstring)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from maestro.api.deps import PageDep, UowDep
from maestro.api.responses import json_response, page_response
from maestro.models import ErrorBody
from maestro.policies.contract import PolicyAssignment, PolicyAssignmentCreate
from maestro.policy_assignments import service as assignment_service

router = APIRouter(prefix="/maestro/policy-assignments", tags=["policies"])
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post(
    "",
    status_code=201,
    response_model=PolicyAssignment,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def create_policy_assignment(body: PolicyAssignmentCreate, uow: UowDep) -> Response:
    assignment = assignment_service.create_assignment(uow, body)
    return json_response(assignment, 201, {"Location": f"/maestro/policy-assignments/{assignment.id}"})


@router.get("", response_model=list[PolicyAssignment], responses=_ERRORS)
def list_policy_assignments(request: Request, uow: UowDep, page: PageDep) -> Response:
    assignments, after = assignment_service.list_assignments(uow, page)
    return page_response(request, assignments, PolicyAssignment, after)


@router.get("/{assignment_id}", response_model=PolicyAssignment, responses=_ERRORS)
def get_policy_assignment(assignment_id: str, uow: UowDep) -> Response:
    return json_response(assignment_service.get_assignment(uow, assignment_id))


@router.delete("/{assignment_id}", status_code=204, responses={404: {"model": ErrorBody}})
def delete_policy_assignment(assignment_id: str, uow: UowDep) -> Response:
    assignment_service.delete_assignment(uow, assignment_id)
    return Response(status_code=204)
