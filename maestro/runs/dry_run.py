"""A policy dry-run: the gate of many past runs under a candidate policy version beside
the policy each is judged by now (``release_gate.evaluate``'s choice: the assignment, else
``seed-default``), reporting the runs whose verdict would change (``policies.dry_run``).

It writes nothing. Its reads run in a read transaction of their own
(``UnitOfWork.outside``), so the POST never takes SQLite's writer lock, and they are
batched (``release_gate.BatchJudge``): runs a chunk at a time in the run list's order,
each chunk's artifacts, dependencies and waivers in one query each, the tenant's
assignments once, each policy version once. Both sides apply the waivers that cover the
run, as the gate does, so a waived rule never reads as a change. Only a run that has
upstream runs costs queries of its own: each upstream run is judged as the gate judges it. A
time budget bounds a request; what it did not reach is reported as ``truncated`` with
a cursor to go on from.
"""

from __future__ import annotations

import time
from functools import partial

from maestro.models import PolicyRef, RunStatus
from maestro.pagination import Cursor, Page
from maestro.platform.uow import UnitOfWork
from maestro.policies.dry_run import ChangedRun, DryRunRequest, DryRunResult, compare
from maestro.policies.model import PolicySpec
from maestro.policies.rego_port import RegoEvaluator
from maestro.policy_registry import service as policy_service
from maestro.runs import repository
from maestro.runs.release_gate import BatchJudge, GateInput
from maestro.runs.repository import RunFilter

CHUNK = 500
BUDGET_S = 30.0

# Module-level so tests can replace the clock.
monotonic = time.monotonic


def _differs(candidate: PolicySpec, current: PolicySpec) -> bool:
    return current.digest != candidate.digest


def _change(judge: BatchJudge, run_id: str, given: GateInput, candidate: PolicySpec) -> ChangedRun | None:
    """The run's verdict now and under the candidate, on the same input with the same
    waivers (upstream runs judged under their own policies on both sides, as the gate's
    ``?policy=`` does); None when it does not change."""
    spec = given.spec
    ref = PolicyRef.model_construct(id=spec.id, name=spec.name, version=spec.version, digest=spec.digest)
    return compare(run_id, ref, judge.results(given), judge.results(given, candidate))


def _where(request: DryRunRequest) -> RunFilter:
    f = request.filters
    return RunFilter(
        owner=f.owner,
        status=f.status.value if isinstance(f.status, RunStatus) else None,
        entity_id=f.entity_id,
        decision_id=f.decision_id,
        started_after=f.started_after,
        started_before=f.started_before,
    )


def dry_run(
    uow: UnitOfWork, policy_id: str, request: DryRunRequest, rego: RegoEvaluator | None = None
) -> DryRunResult:
    """PolicyNotFound for an unknown (or another tenant's) policy or version."""
    at = uow.now
    after = Cursor.decode(request.cursor) if request.cursor else None
    where = _where(request)
    deadline = monotonic() + BUDGET_S
    with uow.outside() as scope:
        candidate = policy_service.spec_in_force(scope, policy_id, request.version, at)
        judge = BatchJudge(scope, at, rego)
        # a run its current policy's very content judges is judged the same way: skipped
        differs = partial(_differs, candidate)
        considered, total = 0, 0
        changed: list[ChangedRun] = []
        more = True
        while more and considered < request.limit and (considered == 0 or monotonic() < deadline):
            take = min(CHUNK, request.limit - considered)
            rows = repository.list_runs(scope, where, Page(limit=take, after=after))
            more = len(rows) > take
            rows = rows[:take]
            if not rows:
                break
            for run_id, given in judge.inputs(rows, differs).items():
                change = _change(judge, run_id, given, candidate)
                if change is not None:
                    total += 1
                    if len(changed) < request.max_changed:
                        changed.append(change)
            considered += len(rows)
            after = Cursor(rows[-1].started_at, rows[-1].id)
    ref = PolicyRef.model_construct(
        id=candidate.id, name=candidate.name, version=candidate.version, digest=candidate.digest
    )
    return DryRunResult(
        policy=ref,
        evaluated_at=at,
        considered=considered,
        changed_total=total,
        changed=changed,
        truncated=more,
        next_cursor=after.encode() if more and after is not None else None,
    )
