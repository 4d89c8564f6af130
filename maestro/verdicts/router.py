"""GET /maestro/runs/{id}/gate-evaluations: a run's recorded verdicts, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from maestro.api.deps import PageDep, UowDep
from maestro.api.responses import stored_page_response
from maestro.audit.router import state_signer
from maestro.models import ErrorBody, GateEvaluation
from maestro.verdicts import follower, service

router = APIRouter(prefix="/maestro/runs", tags=["runs"])


@router.get(
    "/{run_id}/gate-evaluations",
    response_model=list[GateEvaluation],
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def list_gate_evaluations(request: Request, run_id: str, uow: UowDep, page: PageDep) -> Response:
    """Each evaluation whose verdict or input differed from the one before, with its signed
    VSA. Changes committed before this request are evaluated first (read your writes)."""
    follower.catch_up(uow.db, state_signer(request.app.state), uow.tenant_id)
    items, after = service.list_evaluations(uow, run_id, page)
    return stored_page_response(request, items, after)
