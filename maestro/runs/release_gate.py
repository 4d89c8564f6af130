"""The release gate and the run manifest, read in one transaction each.

The gate evaluates the run's input document (``maestro.policies.document``) under the
policy assigned to the run (``maestro.policy_assignments.service``: the built-in
``seed-default`` unless the tenant assigned another), or under ``policy`` when the
caller names one; ``as_of`` judges rules (their versions and ``effective_on`` dates)
and waivers (``maestro.waivers.service``: those in force at that instant which cover
the run) as they stood at that instant. Without ``as_of`` the instant is the request's,
so a waiver stops applying at the first read after it expires or is revoked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from maestro.artifacts import service as artifact_service
from maestro.checks import compliance_report
from maestro.errors import RunNotFound
from maestro.models import ReleaseGateResult, RuleResult, RunManifest, RunStatus, Severity
from maestro.packs import service as pack_service
from maestro.pagination import DEFAULT_LIMIT, Cursor, Order, Page
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.policies import builtins, document, engine
from maestro.policies.document import RunFacts, UpstreamRun
from maestro.policies.model import PolicySpec, Waiver
from maestro.policies.rego_port import RegoEvaluator, default_evaluator
from maestro.policy_assignments import service as assignment_service
from maestro.policy_assignments.service import Resolved
from maestro.policy_registry import service as policy_service
from maestro.runs import repository
from maestro.runs.repository import RunRecord
from maestro.services.rows import run_from_row
from maestro.waivers import service as waiver_service


@dataclass(frozen=True, slots=True)
class GateRequest:
    """``policy`` (an id, ``builtin:<name>``) and ``version`` override the assignment."""

    policy: str | None = None
    version: int | None = None
    as_of: datetime | None = None


def run_facts(row: RunRecord) -> RunFacts:
    return RunFacts.model_construct(
        id=row.id,
        name=row.name,
        owner=row.owner,
        status=RunStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        metadata=row.metadata,
    )


# At most this many upstream runs are judged for one gate read (each is a gate evaluation
# of its own); past it, an upstream run counts as not passing, so its rule fails, never passes.
MAX_UPSTREAM = 100


def upstream_of(
    scope: Scope,
    row: RunRecord,
    at: datetime,
    verdicts: dict[str, tuple[bool, str | None]],
    dependencies: list[str] | None = None,
) -> list[UpstreamRun]:
    """The run's direct dependencies (``dependencies`` when the caller read them already)
    with the verdicts of their own gates and the digests of the policies that gave them,
    each judged under its own assigned policy at the same instant (``verdicts`` memoises
    them for one read; lineage has no cycles, so the recursion ends)."""
    if dependencies is None:
        dependencies = repository.dependencies_of(scope, [row.id]).get(row.id, [])
    out = []
    for dep_id in dependencies:
        dep = repository.get_run(scope, dep_id)
        if dep is None:  # pragma: no cover - dependencies are deleted with their run
            continue
        if dep_id not in verdicts:
            if len(verdicts) < MAX_UPSTREAM:
                verdict = _judge(scope, dep, GateRequest(), at, verdicts)[1]
                verdicts[dep_id] = (verdict.passed, verdict.policy.digest if verdict.policy else None)
            else:
                verdicts[dep_id] = (False, None)
        passed, digest = verdicts[dep_id]
        out.append(
            UpstreamRun.model_construct(
                id=dep_id, status=RunStatus(dep.status), gate_passed=passed, policy_digest=digest
            )
        )
    return out


def _judge(
    scope: Scope,
    row: RunRecord,
    request: GateRequest,
    at: datetime,
    verdicts: dict[str, tuple[bool, str | None]],
) -> tuple[document.InputDocument, ReleaseGateResult]:
    artifacts = artifact_service.policy_facts_of_run(scope, row.id)
    doc = document.build(run_facts(row), artifacts, upstream_of(scope, row, at, verdicts), at)
    resolved = assignment_service.resolve(scope, row.owner, row.metadata)
    if request.policy is not None:
        spec = policy_service.spec_in_force(scope, request.policy, request.version, at)
    elif resolved.assignment is not None:
        assigned = resolved.assignment
        spec = policy_service.spec_in_force(scope, assigned.policy_id, assigned.policy_version, at)
    else:
        spec = builtins.SEED_DEFAULT
    waivers = waiver_service.covering(scope, row.id, row.owner, row.metadata, at)
    result = engine.evaluate(
        spec, doc, tenant_severity=resolved.tenant_severity, waivers=waivers, rego=default_evaluator()
    )
    return doc, result


@dataclass(frozen=True, slots=True)
class GateInput:
    """One run's gate as a batch read it: its input document, the policy that judges it
    now, the tenant's default severity and the waivers covering it at that instant."""

    doc: document.InputDocument
    spec: PolicySpec
    tenant_severity: Severity
    waivers: list[Waiver]


class BatchJudge:
    """The gates of many runs at one instant, as ``evaluate`` judges each, in a few queries
    per chunk of runs (their artifacts, dependencies and waivers one query each), the
    tenant's assignments once and each assigned policy version once. Only a run with
    upstream runs costs queries of its own: each upstream run is judged as the gate
    judges it, with a memo of the run's own (the upstream bound is per evaluation, so a
    verdict never depends on which runs shared a batch)."""

    def __init__(self, scope: Scope, at: datetime, rego: RegoEvaluator | None = None) -> None:
        self.scope = scope
        self.at = at
        self.rego = rego or default_evaluator()
        self._resolve = assignment_service.resolver(scope)
        self._specs: dict[tuple[str, int | None], PolicySpec] = {}

    def _current_spec(self, resolved: Resolved) -> PolicySpec:
        assigned = resolved.assignment
        if assigned is None:
            return builtins.SEED_DEFAULT
        key = (assigned.policy_id, assigned.policy_version)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = policy_service.spec_in_force(self.scope, *key, self.at)
        return spec

    def inputs(
        self, rows: Sequence[RunRecord], wanted: Callable[[PolicySpec], bool] | None = None
    ) -> dict[str, GateInput]:
        """Each run's gate input, by run id; only runs whose current policy is ``wanted``."""
        ids = [r.id for r in rows]
        artifacts = artifact_service.policy_facts_of_runs(self.scope, ids)
        dependencies = repository.dependencies_of(self.scope, ids)
        keys = [(r.id, r.owner, r.metadata) for r in rows]
        waivers = waiver_service.covering_runs(self.scope, keys, self.at)
        out: dict[str, GateInput] = {}
        for row in rows:
            resolved = self._resolve(row.owner, row.metadata)
            spec = self._current_spec(resolved)
            if wanted is not None and not wanted(spec):
                continue
            deps = dependencies.get(row.id, [])
            upstream = upstream_of(self.scope, row, self.at, {}, deps) if deps else []
            doc = document.build(run_facts(row), artifacts[row.id], upstream, self.at)
            out[row.id] = GateInput(doc, spec, resolved.tenant_severity, waivers[row.id])
        return out

    def verdict(self, given: GateInput, spec: PolicySpec | None = None) -> ReleaseGateResult:
        """The verdict on ``given`` under its current policy, or under ``spec``."""
        return engine.evaluate(
            spec or given.spec,
            given.doc,
            tenant_severity=given.tenant_severity,
            waivers=given.waivers,
            rego=self.rego,
        )

    def results(self, given: GateInput, spec: PolicySpec | None = None) -> list[RuleResult]:
        """The rule results ``verdict`` derives its answer from."""
        return engine.rule_results(
            spec or given.spec,
            given.doc,
            tenant_severity=given.tenant_severity,
            waivers=given.waivers,
            rego=self.rego,
        )


def evaluate_current(uow: UnitOfWork, run_id: str) -> tuple[document.InputDocument, ReleaseGateResult] | None:
    """The run's input and verdict under its assignment now; None when it does not exist."""
    row = repository.get_run(uow, run_id)
    return None if row is None else evaluate_with_input(uow, row, GateRequest())


def evaluate_current_or_missing(
    uow: UnitOfWork, run_id: str
) -> tuple[document.InputDocument, ReleaseGateResult]:
    """As ``evaluate_current``; RunNotFound when the run does not exist."""
    evaluated = evaluate_current(uow, run_id)
    if evaluated is None:
        raise RunNotFound()
    return evaluated


def evaluate(uow: UnitOfWork, row: RunRecord, request: GateRequest) -> ReleaseGateResult:
    """The run's verdict; its upstream runs' verdicts are part of its input."""
    return evaluate_with_input(uow, row, request)[1]


def evaluate_with_input(
    uow: UnitOfWork, row: RunRecord, request: GateRequest
) -> tuple[document.InputDocument, ReleaseGateResult]:
    """The input document and the verdict on it (the recorder keeps both digests)."""
    return _judge(uow, row, request, request.as_of or uow.now, {})


def release_gate(uow: UnitOfWork, run_id: str, request: GateRequest | None = None) -> ReleaseGateResult:
    row = repository.get_run(uow, run_id)
    if row is None:
        raise RunNotFound()
    return evaluate(uow, row, request or GateRequest())


MANIFEST_PACKS = 20


@dataclass(frozen=True, slots=True)
class ManifestPage:
    """A manifest and where its lists continue: the next page of artifacts (a cursor for
    the manifest itself) and the older packs (a cursor for the disclosure-pack list)."""

    manifest: RunManifest
    artifacts_after: Cursor | None
    packs_after: Cursor | None


def manifest(
    uow: UnitOfWork, run_id: str, limit: int = DEFAULT_LIMIT, after: Cursor | None = None
) -> ManifestPage:
    """One page of the run's artifacts (oldest first), with compliance entries for the
    same artifacts; counts, ids and the gate cover every artifact; the newest packs."""
    row = repository.get_run(uow, run_id)
    if row is None:
        raise RunNotFound()
    page = Page(limit=limit, after=after, order=Order.ASC)
    artifacts, artifacts_after = artifact_service.list_artifacts(uow, page, run_id=run_id)
    flags = artifact_service.flags_of_run(uow, run_id)
    report = compliance_report(flags)
    shown = {a.id for a in artifacts}
    report.artifacts = [entry for entry in report.artifacts if entry.artifact_id in shown]
    newest, packs_after = pack_service.list_packs(uow, Page(limit=MANIFEST_PACKS), run_id=run_id)
    packs = newest[::-1]
    result = RunManifest(
        run=run_from_row(row, repository.dependencies_of(uow, [run_id]).get(run_id)),
        artifacts=artifacts,
        disclosure_pack=packs[-1] if packs else None,
        disclosure_packs=packs,
        compliance_report=report,
        release_gate=evaluate(uow, row, GateRequest()),
    )
    return ManifestPage(result, artifacts_after, packs_after)
