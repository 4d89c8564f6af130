"""Evaluate runs' gates and record each evaluation whose verdict or input changed.

An evaluation is recorded when its *outcome* differs from the run's last recorded one:
the policy version, the digest of the input's facts (the input document without the
instant judged) and every result. A recorded evaluation carries a signed VSA and is an
audit event (``gate.evaluated``, actor ``system``) in the same transaction.

Evaluating reads (a read transaction per chunk of runs); recording is one short write
transaction that re-checks the last outcome under a per-tenant lock, so two evaluators
(replicas) that raced over the same change record it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text

from maestro.audit import recorder
from maestro.audit.event import Actor, EventDraft, ObjectRef
from maestro.audit.signing_key import Signer
from maestro.db.engine import Database
from maestro.errors import RunNotFound
from maestro.ids import uuid7
from maestro.pagination import Cursor, Page
from maestro.platform.uow import DetachedScope, UnitOfWork
from maestro.policies import document
from maestro.runs import release_gate
from maestro.runs import repository as run_repository
from maestro.runs import service as run_service
from maestro.tenancy.principal import Principal
from maestro.tenancy.roles import Role
from maestro.verdicts import attestation, repository
from maestro.verdicts.repository import EvaluationRecord

SYSTEM = Actor(token_id=None, role="system")
ACTION = "gate.evaluated"


@dataclass(frozen=True, slots=True)
class _Candidate:
    run_id: str
    answer: dict[str, Any]
    facts_digest: str
    outcome_digest: str
    artifacts: tuple[tuple[str, str], ...]


def outcome_digest(answer: dict[str, Any], facts_digest: str) -> str:
    """What must differ for an evaluation to be recorded: everything in the answer but the
    instant judged (and the input digest, which covers that instant), plus the facts."""
    kept = {k: v for k, v in answer.items() if k not in ("evaluated_at", "input_digest")}
    kept["facts_digest"] = facts_digest
    return "sha256:" + hashlib.sha256(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _system_uow(db: Database, tenant_id: str, clock: Callable[[], datetime]) -> UnitOfWork:
    principal = Principal(tenant_id=tenant_id, role=Role.VIEWER, token_id=None)
    return UnitOfWork(db, writes=False, principal=principal, clock=clock, request_id="gate-evaluator")


def _candidates(
    db: Database, tenant_id: str, run_ids: Sequence[str], clock: Callable[[], datetime]
) -> list[_Candidate]:
    """The runs whose outcome differs from their last recorded one, judged in one batch."""
    uow = _system_uow(db, tenant_id, clock)
    try:
        last = repository.last_outcomes(uow, run_ids)
        judge = release_gate.BatchJudge(uow, uow.now)
        found: list[_Candidate] = []
        for run_id, given in judge.inputs(run_repository.get_runs(uow, run_ids)).items():
            answer = judge.verdict(given).model_dump(mode="json")
            facts = document.facts_digest(given.doc)
            outcome = outcome_digest(answer, facts)
            if last.get(run_id) == outcome:
                continue
            artifacts = tuple(
                (a.id, a.content_digest.removeprefix("sha256:"))
                for a in given.doc.artifacts
                if a.content_digest
            )
            found.append(_Candidate(run_id, answer, facts, outcome, artifacts))
        return found
    finally:
        uow.rollback()


def evaluate_runs(
    db: Database,
    signer: Signer,
    tenant_id: str,
    run_ids: Sequence[str],
    trigger: str,
    clock: Callable[[], datetime],
) -> int:
    """Evaluate ``run_ids`` now and record those whose outcome changed; how many were."""
    candidates = _candidates(db, tenant_id, run_ids, clock)
    if not candidates:
        return 0
    with db.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(hashtext(:k))")
            session.execute(lock, {"k": f"maestro.gate:{tenant_id}"})
        scope = DetachedScope(session, tenant_id)
        last = repository.last_outcomes(scope, [c.run_id for c in candidates])
        drafts: list[EventDraft] = []
        records: list[EvaluationRecord] = []
        for c in candidates:
            if last.get(c.run_id) == c.outcome_digest:
                continue
            digest = attestation.answer_digest(c.answer)
            envelope = attestation.gate_vsa(
                key=signer.private,
                key_id=signer.key_id,
                deployment=signer.base,
                answer=c.answer,
                artifacts=c.artifacts,
                digest=digest,
            )
            policy = c.answer["policy"]
            records.append(
                EvaluationRecord(
                    id=uuid7(),
                    run_id=c.run_id,
                    policy_id=policy["id"],
                    policy_version=policy["version"],
                    policy_digest=policy["digest"],
                    passed=c.answer["passed"],
                    input_digest=c.answer["input_digest"],
                    facts_digest=c.facts_digest,
                    outcome_digest=c.outcome_digest,
                    evaluated_at=datetime.fromisoformat(c.answer["evaluated_at"].replace("Z", "+00:00")),
                    trigger=trigger[:64],
                    result=c.answer,
                    vsa=envelope,
                )
            )
            drafts.append(
                EventDraft(
                    action=ACTION,
                    actor=SYSTEM,
                    object=ObjectRef("run", c.run_id),
                    request_id=None,
                    state_sha256=digest,
                )
            )
        repository.insert_evaluations(scope, records)
        if drafts:
            recorder.enqueue(session, tenant_id=tenant_id, events=drafts, now=clock())
    return len(drafts)


def _evaluation(record: EvaluationRecord) -> dict[str, Any]:
    """The wire form of a recorded evaluation (``GateEvaluation``). The answer and its VSA
    go out exactly as stored: the VSA's subject digest covers the answer's bytes, which a
    round trip through today's model could change for an evaluation recorded earlier."""
    return {
        "id": record.id,
        "run_id": record.run_id,
        "evaluated_at": record.result["evaluated_at"],  # the answer's own instant, as written
        "trigger": record.trigger,
        "passed": record.passed,
        "input_digest": record.input_digest,
        "result": record.result,
        "vsa": record.vsa,
    }


def latest(uow: UnitOfWork, run_id: str) -> EvaluationRecord | None:
    """The run's newest recorded evaluation as stored (its ``result`` is the exact JSON
    the VSA's subject digest covers); current once the evaluator caught up."""
    rows = repository.list_evaluations(uow, run_id, Page(limit=1))
    return rows[0] if rows else None


def list_evaluations(uow: UnitOfWork, run_id: str, page: Page) -> tuple[list[dict[str, Any]], Cursor | None]:
    """A run's recorded evaluations, newest first, in their wire form (``GateEvaluation``)."""
    if not run_service.run_exists(uow, run_id):
        raise RunNotFound()
    rows = repository.list_evaluations(uow, run_id, page)
    items = [_evaluation(r) for r in rows[: page.limit]]
    last = rows[page.limit - 1] if len(rows) > page.limit else None
    after = Cursor(last.evaluated_at, last.id) if last is not None else None
    return items, after
