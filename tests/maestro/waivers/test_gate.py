"""The gate applies the waivers in force at the instant it judges, and only those that
cover the run: by run id, by owner/metadata match, by a component purl."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.tenancy.roles import Role
from tests.maestro.evidence import builders
from tests.maestro.tenancy.helpers import bearer, issue
from tests.maestro.waivers.support import Clock, create, install_clock, iso, results

MakeRun = Callable[..., dict[str, Any]]
RULE = "declared-compliant-artifact"  # the seed's rule: fails for a run with no artifact


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    return install_clock(app)


@pytest.fixture
def succeeded(make_run: MakeRun) -> Callable[..., str]:
    def _make(**fields: Any) -> str:
        return str(make_run(status="succeeded", **fields)["id"])

    return _make


def test_a_run_waiver_reports_who_why_and_until(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    run_id, other = succeeded(), succeeded()
    before = results(client, run_id)
    assert before[RULE]["status"] == "failed"
    assert before["_passed"]["passed"] is False
    until = clock.at + timedelta(days=1)
    waiver = create(client, run_id=run_id, expires_at=iso(until), reason="vendor SBOM due Friday")
    after = results(client, run_id)
    assert after[RULE]["status"] == "waived"
    assert after[RULE]["waiver"] == {"by": "local", "reason": "vendor SBOM due Friday", "until": iso(until)}
    assert after["run-succeeded"]["status"] == "passed"
    assert after["_passed"] == {
        "passed": True,
        "message": "Release gate passed: 0 compliant artifact(s) found (waived: declared-compliant-artifact)",
    }
    assert results(client, other)[RULE]["status"] == "failed"
    assert waiver["created_by"] == "local"


def test_a_waiver_stops_applying_exactly_at_its_expiry(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    run_id = succeeded()
    expires = clock.at + timedelta(hours=2)
    create(client, run_id=run_id, expires_at=iso(expires))
    clock.at = expires - timedelta(microseconds=1)
    assert results(client, run_id)[RULE]["status"] == "waived"
    clock.at = expires
    gate = results(client, run_id)
    assert gate[RULE]["status"] == "failed"
    assert gate[RULE]["waiver"] is None
    assert gate["_passed"]["passed"] is False
    clock.at = expires + timedelta(days=1)
    assert results(client, run_id)[RULE]["status"] == "failed"
    # looking back to an instant it was in force still shows it
    assert results(client, run_id, as_of=iso(expires - timedelta(hours=1)))[RULE]["status"] == "waived"
    listed = client.get("/maestro/waivers").json()
    assert [w["active"] for w in listed] == [False]


def test_a_revoked_waiver_stops_applying(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    run_id = succeeded()
    created_at = clock.at
    waiver = create(client, run_id=run_id, expires_at=iso(clock.at + timedelta(days=3)))
    revoked_at = clock.advance(hours=1)
    client.post(f"/maestro/waivers/{waiver['id']}/revoke")
    assert results(client, run_id)[RULE]["status"] == "failed"
    assert results(client, run_id, as_of=iso(revoked_at))[RULE]["status"] == "failed"
    between = created_at + timedelta(minutes=30)
    assert results(client, run_id, as_of=iso(between))[RULE]["status"] == "waived"


def test_as_of_before_creation_does_not_apply_it(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    run_id = succeeded()
    earlier = clock.at
    clock.advance(hours=1)
    create(client, run_id=run_id, expires_at=iso(clock.at + timedelta(days=1)))
    assert results(client, run_id)[RULE]["status"] == "waived"
    assert results(client, run_id, as_of=iso(earlier))[RULE]["status"] == "failed"
    assert results(client, run_id, as_of=iso(clock.at))[RULE]["status"] == "waived"  # from its creation on


def test_a_waiver_of_another_rule_changes_nothing(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    run_id = succeeded()
    create(client, rule="sbom-verified", run_id=run_id, expires_at=iso(clock.at + timedelta(days=1)))
    gate = results(client, run_id)
    assert gate[RULE]["status"] == "failed"
    assert gate["_passed"]["passed"] is False


def test_match_waivers_cover_runs_by_owner_and_metadata(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    until = iso(clock.at + timedelta(days=1))
    create(
        client, match={"owner": "ci@example.com", "metadata": {"project": "counter-intel"}}, expires_at=until
    )
    create(client, match={"metadata": {"tier": 1}}, rule="run-succeeded", expires_at=until)
    covered = succeeded(owner="ci@example.com", metadata={"project": "counter-intel", "extra": True})
    other_owner = succeeded(owner="someone", metadata={"project": "counter-intel"})
    other_project = succeeded(owner="ci@example.com", metadata={"project": "other"})
    assert results(client, covered)[RULE]["status"] == "waived"
    assert results(client, other_owner)[RULE]["status"] == "failed"
    assert results(client, other_project)[RULE]["status"] == "failed"
    failed_run = client.post(
        "/maestro/runs", json={"name": "n", "owner": "o", "status": "failed", "metadata": {"tier": 1}}
    )
    assert results(client, failed_run.json()["id"])["run-succeeded"]["status"] == "waived"
    text_tier = client.post(
        "/maestro/runs", json={"name": "n", "owner": "o", "status": "failed", "metadata": {"tier": "1"}}
    )
    assert results(client, text_tier.json()["id"])["run-succeeded"]["status"] == "failed"  # "1" is not 1


def _with_sbom(client: TestClient, run_id: str) -> None:
    """An SBOM whose components are pkg:pypi/lib0@1.0.0, lib1@1.1.0, lib2@1.2.0."""
    artifact = client.post(
        "/maestro/artifacts", json={"run_id": run_id, "kind": "sbom", "path_or_uri": "file:///sbom.json"}
    ).json()
    upload = client.put(
        f"/maestro/artifacts/{artifact['id']}/content", content=builders.dumps(builders.cyclonedx())
    )
    assert upload.status_code == 201, upload.text


@pytest.mark.parametrize(
    ("purl", "covers"),
    [
        ("pkg:pypi/lib1", True),  # no version: any version
        ("pkg:pypi/lib1@1.1.0", True),
        ("pkg:PYPI/lib1", True),  # the type is case-insensitive
        ("pkg:pypi/lib1@9.9.9", False),
        ("pkg:pypi/lib9", False),
        ("pkg:npm/lib1", False),
    ],
)
def test_purl_waivers_cover_runs_with_that_component(
    client: TestClient, succeeded: Callable[..., str], clock: Clock, purl: str, covers: bool
) -> None:
    with_sbom, without = succeeded(), succeeded()
    _with_sbom(client, with_sbom)
    create(client, purl=purl, expires_at=iso(clock.at + timedelta(days=1)))
    assert results(client, with_sbom)[RULE]["status"] == ("waived" if covers else "failed")
    assert results(client, without)[RULE]["status"] == "failed"


def test_another_tenants_waivers_never_cover_a_run(
    client: TestClient, maestro_store: Database, clock: Clock
) -> None:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    run = {"name": "n", "owner": "ci", "status": "succeeded"}
    run_id = client.post("/maestro/runs", json=run, headers=alpha).json()["id"]
    create(client, beta, match={"owner": "ci"}, expires_at=iso(clock.at + timedelta(days=1)))
    gate = client.get(f"/maestro/runs/{run_id}/release-gate", headers=alpha).json()
    assert {r["rule"]: r["status"] for r in gate["results"]}[RULE] == "failed"
    create(client, alpha, match={"owner": "ci"}, expires_at=iso(clock.at + timedelta(days=1)))
    gate = client.get(f"/maestro/runs/{run_id}/release-gate", headers=alpha).json()
    assert {r["rule"]: r["status"] for r in gate["results"]}[RULE] == "waived"


def test_the_manifest_gate_applies_waivers_too(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    run_id = succeeded()
    create(client, run_id=run_id, expires_at=iso(clock.at + timedelta(days=1)))
    manifest = client.get(f"/maestro/runs/{run_id}/manifest").json()
    assert manifest["release_gate"]["passed"] is True


def test_an_upstream_run_is_judged_with_its_own_waivers(
    client: TestClient, succeeded: Callable[..., str], clock: Clock
) -> None:
    policy: dict[str, Any] = {"name": "with-upstream", "kind": "builtin", "builtin": "seed-default"}
    policy["rules"] = [{"rule": "upstream-gates-passed"}]
    created = client.post("/maestro/policies", json=policy)
    assert created.status_code == 201, created.text
    assigned = client.post("/maestro/policy-assignments", json={"policy_id": created.json()["id"]})
    assert assigned.status_code == 201, assigned.text
    upstream = succeeded()
    downstream = succeeded(depends_on=[upstream])
    assert results(client, downstream)["upstream-gates-passed"]["status"] == "failed"
    create(client, run_id=upstream, expires_at=iso(clock.at + timedelta(hours=1)))
    assert results(client, upstream)["_passed"]["passed"] is True
    gate = results(client, downstream)
    assert gate["upstream-gates-passed"]["status"] == "passed"  # the upstream gate passes, waived
    assert gate[RULE]["status"] == "failed"  # the downstream run's own failure is not waived
    clock.advance(hours=1)
    assert results(client, downstream)["upstream-gates-passed"]["status"] == "failed"


def test_a_batch_judges_every_run_as_the_gate_does_one_by_one(
    client: TestClient, maestro_store: Database, succeeded: Callable[..., str], clock: Clock
) -> None:
    """The recorder and the dry-run judge runs a chunk at a time (``BatchJudge``): every
    kind of waiver, a pinned assignment, an upstream run and another tenant's waivers give
    each run exactly the verdict a gate read gives it at the same instant."""
    from maestro.platform.uow import UnitOfWork
    from maestro.runs import release_gate
    from maestro.runs import repository as run_repository
    from maestro.tenancy.principal import Principal

    until = iso(clock.at + timedelta(days=1))
    policy: dict[str, Any] = {"name": "strict", "kind": "builtin", "builtin": "seed-default"}
    policy["rules"] = [{"rule": "upstream-gates-passed"}]
    strict = client.post("/maestro/policies", json=policy).json()
    assigned = client.post("/maestro/policy-assignments", json={"policy_id": strict["id"], "owner": "team"})
    assert assigned.status_code == 201, assigned.text
    by_run, by_match, by_purl, plain = succeeded(), succeeded(owner="team"), succeeded(), succeeded()
    failed = str(
        client.post("/maestro/runs", json={"name": "n", "owner": "o", "status": "failed"}).json()["id"]
    )
    downstream = succeeded(owner="team", depends_on=[by_run, plain])
    sbom_twice = succeeded()
    for run_id in (by_purl, sbom_twice):
        _with_sbom(client, run_id)
    _with_sbom(client, sbom_twice)  # two components match: the waiver is listed once
    create(client, run_id=by_run, expires_at=until)
    create(client, run_id=failed, rule="run-succeeded", expires_at=until)
    create(client, match={"owner": "team"}, expires_at=until)
    create(client, purl="pkg:pypi/lib1@1.1.0", expires_at=until)
    create(client, purl="pkg:pypi/lib2", rule="run-succeeded", expires_at=until)
    expired = create(client, run_id=plain, expires_at=iso(clock.at + timedelta(seconds=1)))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    create(client, beta, match={"owner": "o"}, expires_at=until)  # not this tenant's
    clock.advance(seconds=2)
    assert expired["run_id"] == plain
    ids = [by_run, by_match, by_purl, plain, failed, downstream, sbom_twice]

    principal = Principal(tenant_id="default", role=Role.VIEWER, token_id=None)
    uow = UnitOfWork(maestro_store, writes=False, principal=principal, clock=clock, request_id="t")
    try:
        judge = release_gate.BatchJudge(uow, uow.now)
        batch = judge.inputs(run_repository.get_runs(uow, ids))
        assert set(batch) == set(ids)
        for run_id in ids:
            row = run_repository.get_run(uow, run_id)
            assert row is not None
            one = release_gate.evaluate(uow, row, release_gate.GateRequest())
            assert judge.verdict(batch[run_id]) == one, run_id
        statuses = {
            run_id: {r.rule: r.status.value for r in judge.verdict(batch[run_id]).results} for run_id in ids
        }
    finally:
        uow.rollback()
    assert statuses[by_run][RULE] == statuses[by_match][RULE] == "waived"
    assert statuses[by_purl][RULE] == statuses[sbom_twice][RULE] == "waived"
    assert statuses[plain][RULE] == "failed"  # its waiver expired
    assert statuses[failed]["run-succeeded"] == "waived"
    assert statuses[downstream]["upstream-gates-passed"] == "failed"  # plain fails upstream
