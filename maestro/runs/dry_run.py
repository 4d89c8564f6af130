"""A policy dry-run: the gate of many past runs under a candidate policy version beside
the policy each is judged by now (``release_gate.evaluate``'s choice: the assignment, else
``seed-default``), reporting the runs whose verdict would change (``policies.dry_run``).

It writes nothing. Its reads run in a read transaction of their own
(``UnitOfWork.outside``), so the POST never takes SQLite's writer lock, and they are
batched: runs a chunk at a time in the run list's order, each chunk's artifacts (and the
full evidence details their stored views shortened) and dependencies in one query each,
the tenant's assignments once, each policy version once. Only a run that has upstream
runs costs queries of its own: each upstream run is judged as the gate judges it. A
time budget bounds a request; what it did not reach is reported as ``truncated`` with
a cursor to go on from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from maestro.artifacts import service as artifact_service
from maestro.models import PolicyRef, RuleResult, RunStatus
from maestro.pagination import Cursor, Page
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.policies import builtins, document, engine
from maestro.policies.dry_run import ChangedRun, DryRunRequest, DryRunResult, compare
from maestro.policies.model import PolicySpec
from maestro.policies.rego_port import RegoEvaluator, default_evaluator
from maestro.policy_assignments import service as assignment_service
from maestro.policy_assignments.service import Resolved
from maestro.policy_registry import service as policy_service
from maestro.runs import repository
from maestro.runs.release_gate import run_facts, upstream_of
from maestro.runs.repository import RunFilter, RunRecord

CHUNK = 500
BUDGET_S = 30.0

# Module-level so tests can replace the clock.
monotonic = time.monotonic


@dataclass
class _Judge:
    """Judges runs under their own policy and the candidate; policy versions read once."""

    scope: Scope
    at: datetime
    candidate: PolicySpec
    resolve: Callable[[str, dict[str, object]], Resolved]
    rego: RegoEvaluator
    specs: dict[tuple[str, int | None], PolicySpec] = field(default_factory=dict)

    def current_spec(self, resolved: Resolved) -> PolicySpec:
        assigned = resolved.assignment
        if assigned is None:
            return builtins.SEED_DEFAULT
        key = (assigned.policy_id, assigned.policy_version)
        spec = self.specs.get(key)
        if spec is None:
            spec = policy_service.spec_in_force(self.scope, *key, self.at)
            self.specs[key] = spec
        return spec

    def results(self, spec: PolicySpec, doc: document.InputDocument, resolved: Resolved) -> list[RuleResult]:
        return engine.rule_results(spec, doc, tenant_severity=resolved.tenant_severity, rego=self.rego)

    def judge(
        self, row: RunRecord, artifacts: list[document.ArtifactFacts], dependencies: list[str]
    ) -> ChangedRun | None:
        resolved = self.resolve(row.owner, row.metadata)
        spec = self.current_spec(resolved)
        if spec.digest == self.candidate.digest:
            return None  # the same content judges the same input the same way
        # Upstream runs are judged under their own policies on both sides, as the gate's
        # ?policy= does, each run with a memo of its own (the gate's bound is per read).
        upstream = upstream_of(self.scope, row, self.at, {}, dependencies) if dependencies else []
        doc = document.build(run_facts(row), artifacts, upstream, self.at)
        ref = PolicyRef.model_construct(id=spec.id, name=spec.name, version=spec.version, digest=spec.digest)
        now, then = self.results(spec, doc, resolved), self.results(self.candidate, doc, resolved)
        return compare(row.id, ref, now, then)


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
        judge = _Judge(scope, at, candidate, assignment_service.resolver(scope), rego or default_evaluator())
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
            ids = [r.id for r in rows]
            artifacts = artifact_service.policy_facts_of_runs(scope, ids)
            dependencies = repository.dependencies_of(scope, ids)
            for row in rows:
                change = judge.judge(row, artifacts[row.id], dependencies.get(row.id, []))
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
