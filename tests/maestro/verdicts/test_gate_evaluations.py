"""Recorded gate evaluations: one per change of verdict or input, each with a VSA that
verifies with the published key; re-evaluated when the run, its artifacts or what judges
every run changes; never another tenant's; the background evaluator records without a
read; racing evaluators record once."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import rfc8785
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from maestro.attestations import dsse_sign, statement, vsa
from maestro.audit import sequencer
from maestro.audit.router import state_signer
from maestro.db.audit_tables import AuditEventRow
from maestro.db.engine import Database
from maestro.db.verdict_tables import GateEvaluationRow
from maestro.runs import release_gate
from maestro.tenancy.roles import Role
from maestro.verdicts import follower, service
from tests.maestro.tenancy.helpers import bearer, issue

ALL = {"sbom_present": True, "slsa_provenance_present": True, "risk_assessment_present": True}


def _evaluations(client: TestClient, run_id: str, **kw: Any) -> list[dict[str, Any]]:
    response = client.get(f"/maestro/runs/{run_id}/gate-evaluations", **kw)
    assert response.status_code == 200, response.text
    return list(response.json())


def _open(client: TestClient, envelope: dict[str, Any]) -> statement.Statement:
    keys = [load_pem_public_key(k["pem"].encode()) for k in client.get("/maestro/keys").json()]
    payload = dsse_sign.open_envelope(envelope, statement.PAYLOAD_TYPE, keys)  # type: ignore[arg-type]
    return statement.decode(payload, vsa.PREDICATE_TYPE)


def test_a_new_run_gets_one_signed_evaluation_and_a_reread_adds_none(
    client: TestClient, make_run: Callable[..., dict[str, Any]]
) -> None:
    run = make_run()
    first = _evaluations(client, run["id"])
    assert len(first) == 1
    evaluation = first[0]
    assert evaluation["passed"] is False
    assert evaluation["trigger"].startswith("run.create@")
    assert evaluation["result"]["run_id"] == run["id"]
    gate = client.get(f"/maestro/runs/{run['id']}/release-gate").json()
    assert evaluation["result"]["message"] == gate["message"]
    vouched = _open(client, evaluation["vsa"])
    answer_sha = hashlib.sha256(rfc8785.dumps(evaluation["result"])).hexdigest()
    assert {s.name: s.digest["sha256"] for s in vouched.subjects} == {f"release-gate/{run['id']}": answer_sha}
    assert vouched.predicate["verificationResult"] == "FAILED"
    assert vouched.predicate["policy"]["digest"]["sha256"] == evaluation["result"]["policy"]["digest"][7:]
    assert _evaluations(client, run["id"]) == first


def test_a_changed_signature_or_answer_does_not_verify(
    client: TestClient, make_run: Callable[..., dict[str, Any]]
) -> None:
    run = make_run()
    envelope = _evaluations(client, run["id"])[0]["vsa"]
    payload = orjson.loads(base64.b64decode(envelope["payload"]))
    payload["predicate"]["verificationResult"] = "PASSED"
    forged = {**envelope, "payload": base64.b64encode(rfc8785.dumps(payload)).decode()}
    with pytest.raises(dsse_sign.EnvelopeError):
        _open(client, forged)


def test_a_recorded_answer_is_served_exactly_as_stored(
    client: TestClient, maestro_store: Database, make_run: Callable[..., dict[str, Any]]
) -> None:
    """The VSA's digest covers the stored answer: an answer recorded by another version,
    with a field today's model lacks, is served as it was signed, not through the model."""
    run = make_run()
    (served,) = _evaluations(client, run["id"])
    with maestro_store.write() as session:
        row = session.scalars(select(GateEvaluationRow).where(GateEvaluationRow.run_id == run["id"])).one()
        row.result = {**row.result, "from_a_later_version": [1, {"b": 2}]}
    (reread,) = _evaluations(client, run["id"])
    assert reread["result"] == {**served["result"], "from_a_later_version": [1, {"b": 2}]}
    assert reread["evaluated_at"] == served["result"]["evaluated_at"]
    rest = {k: v for k, v in served.items() if k != "result"}
    assert {k: v for k, v in reread.items() if k != "result"} == rest


def test_each_change_of_verdict_or_input_is_recorded_once(
    client: TestClient,
    make_run: Callable[..., dict[str, Any]],
    make_artifact: Callable[..., dict[str, Any]],
) -> None:
    run = make_run()
    other = make_run(name="unrelated")
    assert len(_evaluations(client, run["id"])) == 1
    make_artifact(run["id"], "sbom", **ALL)  # input changes, verdict still failed (status pending)
    after_artifact = _evaluations(client, run["id"])
    assert len(after_artifact) == 2
    assert after_artifact[0]["trigger"].startswith("artifact.create@")
    assert after_artifact[0]["input_digest"] != after_artifact[1]["input_digest"]
    response = client.patch(f"/maestro/runs/{run['id']}", json={"status": "succeeded"})
    assert response.status_code == 200, response.text
    newest = _evaluations(client, run["id"])
    assert [e["passed"] for e in newest] == [True, False, False]
    make_artifact(other["id"], "sbom", **ALL)  # another run's change: nothing new here
    assert len(_evaluations(client, run["id"])) == 3
    sequencer.integrate_now(client.app.state.db, "default")  # type: ignore[attr-defined]
    with client.app.state.db.read() as session:  # type: ignore[attr-defined]
        events = session.scalar(
            select(func.count()).select_from(AuditEventRow).where(AuditEventRow.action == "gate.evaluated")
        )
    assert events == 3 + 2  # run: 3 recorded; other: created, then its artifact


def test_a_policy_assignment_re_evaluates_every_run(
    client: TestClient, make_run: Callable[..., dict[str, Any]]
) -> None:
    runs = [make_run(name=f"r{i}") for i in range(3)]
    for run in runs:
        assert len(_evaluations(client, run["id"])) == 1
    body = {"name": "strict", "kind": "builtin", "builtin": "verified-evidence"}
    policy = client.post("/maestro/policies", json=body)
    assert policy.status_code == 201, policy.text
    assigned = client.post("/maestro/policy-assignments", json={"policy_id": policy.json()["id"]})
    assert assigned.status_code == 201, assigned.text
    for run in runs:
        newest = _evaluations(client, run["id"])
        assert len(newest) == 2
        assert newest[0]["result"]["policy"]["id"] == policy.json()["id"]
        # the batch holding the policy or the assignment: whichever pass saw the assignment
        assert newest[0]["trigger"].split("@")[0] in ("policy.create", "policy_assignment.create")


def test_another_tenants_run_is_a_404_and_its_evaluations_stay_apart(
    client: TestClient, maestro_store: Database, make_run: Callable[..., dict[str, Any]]
) -> None:
    mine = issue(maestro_store, Role.WRITER, "alpha")
    theirs = issue(maestro_store, Role.WRITER, "beta")
    run = client.post("/maestro/runs", json={"name": "a", "owner": "o"}, headers=bearer(mine)).json()
    assert len(_evaluations(client, run["id"], headers=bearer(mine))) == 1
    response = client.get(f"/maestro/runs/{run['id']}/gate-evaluations", headers=bearer(theirs))
    assert response.status_code == 404
    nowhere = "/maestro/runs/01a00000-0000-7000-8000-000000000000/gate-evaluations"
    missing = client.get(nowhere, headers=bearer(theirs))
    assert missing.status_code == 404
    assert response.json() == missing.json()


def test_the_background_evaluator_records_without_a_read(
    client: TestClient, maestro_store: Database, make_run: Callable[..., dict[str, Any]]
) -> None:
    run = make_run()
    deadline = time.monotonic() + 5
    count = 0
    while time.monotonic() < deadline:
        with maestro_store.read() as session:
            rows = GateEvaluationRow
            mine = select(func.count()).select_from(rows).where(rows.run_id == run["id"])
            count = int(session.scalar(mine) or 0)
        if count:
            break
        time.sleep(0.05)
    assert count == 1


def test_racing_evaluators_record_an_outcome_once(
    client: TestClient, maestro_store: Database, make_run: Callable[..., dict[str, Any]]
) -> None:
    app = client.app
    app.state.gate_follower.stop()  # type: ignore[attr-defined]
    app.state.audit_sequencer.stop()  # type: ignore[attr-defined]
    run = make_run()
    sequencer.integrate_now(maestro_store, "default")
    signer = state_signer(app.state)  # type: ignore[attr-defined]
    first = service.evaluate_runs(maestro_store, signer, "default", [run["id"]], "test", service_now)
    again = service.evaluate_runs(maestro_store, signer, "default", [run["id"]], "test", service_now)
    assert (first, again) == (1, 0)
    assert follower.follow_all(maestro_store, signer) == 0  # the cursor's batch changes nothing new
    assert len(_evaluations(client, run["id"])) == 1


def service_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_an_upstream_verdict_travels_down_the_lineage(
    client: TestClient,
    make_run: Callable[..., dict[str, Any]],
    make_artifact: Callable[..., dict[str, Any]],
) -> None:
    client.app.state.gate_follower.stop()  # type: ignore[attr-defined]  # reads alone must catch up
    client.app.state.audit_sequencer.stop()  # type: ignore[attr-defined]
    body = {
        "name": "chained",
        "kind": "builtin",
        "builtin": "seed-default",
        "rules": [{"rule": "upstream-gates-passed"}],
    }
    policy = client.post("/maestro/policies", json=body)
    assert policy.status_code == 201, policy.text
    assert (
        client.post("/maestro/policy-assignments", json={"policy_id": policy.json()["id"]}).status_code == 201
    )
    build = make_run(name="build", status="succeeded")
    deploy = make_run(name="deploy", status="succeeded", depends_on=[build["id"]])
    make_artifact(deploy["id"], "sbom", **ALL)

    def upstream_rule(run_id: str) -> str:
        newest = _evaluations(client, run_id)[0]["result"]["results"]
        return next(r["status"] for r in newest if r["rule"] == "upstream-gates-passed")

    assert upstream_rule(deploy["id"]) == "failed"
    assert client.get(f"/maestro/runs/{deploy['id']}/release-gate").json()["passed"] is False
    make_artifact(build["id"], "sbom", **ALL)  # build now passes; deploy learns it from the log
    assert upstream_rule(deploy["id"]) == "passed"  # one read catches up down the lineage
    assert _evaluations(client, build["id"])[0]["passed"] is True
    newest = _evaluations(client, deploy["id"])
    assert newest[0]["passed"] is True
    assert newest[0]["trigger"].startswith("gate.evaluated@")
    assert client.get(f"/maestro/runs/{deploy['id']}/release-gate").json()["passed"] is True


def test_the_sdk_pages_recorded_verdicts(
    client: TestClient,
    make_run: Callable[..., dict[str, Any]],
    make_artifact: Callable[..., dict[str, Any]],
) -> None:
    from maestro.client import MaestroClient

    run = make_run(status="succeeded")
    with MaestroClient(http=client, backoff=0) as sdk:
        assert [e.passed for e in sdk.gate_evaluations(run["id"])] == [False]
        make_artifact(run["id"], "sbom", **ALL)
        recorded = list(sdk.gate_evaluations(run["id"], page_size=1))  # two pages of one
    assert [e.passed for e in recorded] == [True, False]
    assert recorded[0].result.policy is not None
    assert recorded[0].vsa["payloadType"] == statement.PAYLOAD_TYPE


def test_a_waiver_and_its_revocation_are_recorded_verdicts(
    client: TestClient, make_run: Callable[..., dict[str, Any]]
) -> None:
    from datetime import UTC, datetime, timedelta

    run = make_run(status="succeeded")  # fails seed-default: no compliant artifact
    assert [e["passed"] for e in _evaluations(client, run["id"])] == [False]
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    body = {
        "rule": "declared-compliant-artifact",
        "run_id": run["id"],
        "reason": "hotfix",
        "expires_at": until,
    }
    waiver = client.post("/maestro/waivers", json=body)
    assert waiver.status_code == 201, waiver.text
    newest = _evaluations(client, run["id"])
    assert [e["passed"] for e in newest] == [True, False]
    assert newest[0]["trigger"].startswith("waiver.create@")
    statuses = {r["rule"]: r["status"] for r in newest[0]["result"]["results"]}
    assert statuses["declared-compliant-artifact"] == "waived"
    assert client.post(f"/maestro/waivers/{waiver.json()['id']}/revoke").status_code == 200
    assert [e["passed"] for e in _evaluations(client, run["id"])] == [False, True, False]


def test_the_cli_lists_recorded_verdicts(
    client: TestClient,
    make_run: Callable[..., dict[str, Any]],
    make_artifact: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    from tests.maestro.test_cli_support import one_line_error, wire

    mcli = wire(client, monkeypatch, tmp_path)
    run = make_run(status="succeeded")
    assert len(_evaluations(client, run["id"])) == 1  # recorded before the artifact lands
    make_artifact(run["id"], "sbom", **ALL)
    recorded = _evaluations(client, run["id"])
    assert [e["passed"] for e in recorded] == [True, False]
    assert mcli.json("runs", "verdicts", run["id"]) == recorded
    assert mcli.ok("runs", "verdicts", run["id"], "-q").stdout.split() == [e["id"] for e in recorded]
    assert mcli.ok("runs", "verdicts", run["id"], "-q", "--limit", "1").stdout.split() == [recorded[0]["id"]]
    rows = [
        line for line in mcli.ok("runs", "verdicts", run["id"]).stdout.splitlines() if "seed-default" in line
    ]
    assert ["PASSED" in rows[0], "FAILED" in rows[1]] == [True, True]
    assert "artifact.create@" in rows[0]
    missing = mcli("runs", "verdicts", "ghost")
    assert missing.exit_code == 1
    assert "ghost" in one_line_error(missing) or "not found" in one_line_error(missing).lower()


class _CountingRego:
    """The real sandboxed evaluator, counting the evaluations it is asked for."""

    def __init__(self) -> None:
        from maestro.policies import rego

        self._rego = rego
        self.evaluations = 0

    def compile_error(self, module: str) -> str | None:
        return self._rego.compile_error(module)

    def evaluate(self, module: str, input: dict[str, Any], **limits: Any) -> Any:  # noqa: A002
        self.evaluations += 1
        return self._rego.evaluate(module, input, **limits)


def test_a_rego_policy_is_evaluated_at_most_once_per_input_change(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, make_artifact: Callable[..., dict[str, Any]]
) -> None:
    """Issue 10's bound: the recorder evaluates a run once per change that reaches it (a
    batch of changes once), and reading recorded verdicts evaluates nothing."""
    from tests.maestro.policies.test_api import REGO_MODULE

    client.app.state.gate_follower.stop()  # type: ignore[attr-defined]  # reads drive it: countable
    counting = _CountingRego()
    monkeypatch.setattr(release_gate, "default_evaluator", lambda: counting)
    body = {"name": "team", "kind": "rego", "module": REGO_MODULE, "rules": [{"rule": "sbom-declared"}]}
    policy = client.post("/maestro/policies", json=body).json()
    assert client.post("/maestro/policy-assignments", json={"policy_id": policy["id"]}).status_code == 201
    run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()
    changes = 1
    assert len(_evaluations(client, run["id"])) == 1
    assert counting.evaluations == 1  # the policy and the assignment came before any run
    for _ in range(3):
        assert len(_evaluations(client, run["id"])) == 1
    assert counting.evaluations == 1, "reading recorded verdicts evaluated the policy again"
    for kind in ("sbom", "slsa_provenance", "risk_assessment"):
        make_artifact(run["id"], kind)
        changes += 1
    assert client.patch(f"/maestro/runs/{run['id']}", json={"status": "succeeded"}).status_code == 200
    changes += 1
    recorded = _evaluations(client, run["id"])
    assert 1 < counting.evaluations <= changes  # batched: the four changes may share one
    assert recorded[0]["result"]["policy"]["id"] == policy["id"]
    evaluated = counting.evaluations
    _evaluations(client, run["id"])
    assert counting.evaluations == evaluated


def test_the_evaluator_names_each_tenant_it_queued_verdict_events_in(
    client: TestClient, maestro_store: Database, make_run: Callable[..., dict[str, Any]]
) -> None:
    """What the background evaluator tells the sequencer (``on_recorded``): the tenants whose
    ``gate.evaluated`` events it just queued, so they join the log without waiting for the
    sequencer's periodic survey; a pass that records nothing names no one."""
    app = client.app
    app.state.gate_follower.stop()  # type: ignore[attr-defined]
    app.state.audit_sequencer.stop()  # type: ignore[attr-defined]
    make_run()
    sequencer.integrate_now(maestro_store, "default")
    signer = state_signer(app.state)  # type: ignore[attr-defined]
    told: list[str] = []
    assert follower.follow_all(maestro_store, signer, on_recorded=told.append) == 1
    assert told == ["default"]
    assert sequencer.integrate_now(maestro_store, "default") == 1  # its gate.evaluated event
    assert follower.follow_all(maestro_store, signer, on_recorded=told.append) == 0
    assert told == ["default"]
