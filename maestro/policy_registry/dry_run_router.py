"""POST /maestro/policies/{id}/dry-run: which past runs a candidate version would judge
differently (``maestro.runs.dry_run``). A POST for its body, but it writes nothing."""

from __future__ import annotations

from fastapi import APIRouter, Response

from maestro.api.deps import UowDep
from maestro.api.responses import json_response
from maestro.models import ErrorBody
from maestro.policies.dry_run import DryRunRequest, DryRunResult
from maestro.runs import dry_run as dry_run_service

router = APIRouter(prefix="/maestro/policies", tags=["policies"])


@router.post(
    "/{policy_id}/dry-run",
    response_model=DryRunResult,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def dry_run_policy(policy_id: str, body: DryRunRequest, uow: UowDep) -> Response:
    """Judge the runs matching ``filters`` (newest first, at most ``limit``) under the
    candidate version and under the policy each is judged by now; answer the runs whose
    verdict would change, with the rules that change it."""
    return json_response(dry_run_service.dry_run(uow, policy_id, body))
