"""POST /maestro/policies/{id}/dry-run on both databases: exactly the runs whose verdict
would change, with the rules that change it; filters, tenants, limits; and agreement with
judging each run one by one through its gate."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from maestro.db.engine import Database
from maestro.runs import dry_run as dry_run_service
from maestro.tenancy.roles import Role
from tests.maestro.conftest import ALL_FLAGS
from tests.maestro.tenancy.helpers import bearer, issue

VERIFIED = {"name": "verified", "kind": "builtin", "builtin": "verified-evidence"}
SEED = {"name": "seed", "kind": "builtin", "builtin": "seed-default"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_clock = itertools.count()


def create_policy(client: TestClient, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response = client.post("/maestro/policies", json=body, **kwargs)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def make_run(
    client: TestClient,
    *,
    status: str = "succeeded",
    flags: bool = True,
    owner: str = "o",
    metadata: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    depends_on: list[str] | None = None,
) -> str:
    """A run started a second after the previous one (the dry-run walks newest first)."""
    started = (T0 + timedelta(seconds=next(_clock))).isoformat()
    body = {"name": "n", "owner": owner, "status": status, "started_at": started, "metadata": metadata or {}}
    if depends_on:
        body["depends_on"] = depends_on
    response = client.post("/maestro/runs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    run_id = str(response.json()["id"])
    if flags:
        artifact = {"run_id": run_id, "kind": "other", "path_or_uri": "b", "metadata_json": ALL_FLAGS}
        assert client.post("/maestro/artifacts", json=artifact, headers=headers).status_code == 201
    return run_id


def dry_run(
    client: TestClient, policy_id: str, body: dict[str, Any] | None = None, status: int = 200, **kwargs: Any
) -> dict[str, Any]:
    response = client.post(f"/maestro/policies/{policy_id}/dry-run", json=body or {}, **kwargs)
    assert response.status_code == status, response.text
    return dict(response.json())


def test_finds_exactly_the_runs_whose_verdict_changes_and_the_rules(client: TestClient) -> None:
    candidate = create_policy(client, VERIFIED)
    passing = make_run(client)  # passes seed-default, fails verified-evidence
    make_run(client, status="running")  # fails both
    make_run(client, flags=False)  # fails both
    answer = dry_run(client, candidate["id"])
    assert (answer["considered"], answer["changed_total"], answer["truncated"]) == (3, 1, False)
    assert answer["policy"] == {k: candidate[k] for k in ("id", "name", "version", "digest")}
    [change] = answer["changed"]
    assert change["run_id"] == passing
    assert change["current"]["passed"] is True
    assert change["current"]["policy"]["id"] == "builtin:seed-default"
    assert change["candidate"] == {"passed": False}
    rules = {r["rule"]: r for r in change["rules"]}
    assert set(rules) == {"sbom-verified", "provenance-covers-subjects", "risk-no-open-high"}
    sbom = rules["sbom-verified"]
    assert (sbom["current_status"], sbom["candidate_status"], sbom["candidate_severity"]) == (
        None,
        "failed",
        "blocking",
    )
    assert sbom["message"].startswith("No SBOM whose uploaded content Maestro parsed and verified")


def test_a_run_that_would_pass_lists_the_rules_that_stop_blocking(client: TestClient) -> None:
    verified = create_policy(client, VERIFIED)
    pinned = {"policy_id": verified["id"], "policy_version": 1}  # unpinned, it would follow version 2
    assert client.post("/maestro/policy-assignments", json=pinned).status_code == 201
    relaxed = create_policy(client, {**VERIFIED, "default_severity": "advisory"})
    assert relaxed["version"] == 2
    run_id = make_run(client)
    answer = dry_run(client, verified["id"], {"version": 2})
    [change] = answer["changed"]
    assert change["run_id"] == run_id
    assert change["current"]["passed"] is False
    assert change["current"]["policy"]["version"] == 1
    assert change["candidate"]["passed"] is True
    statuses = {(r["rule"], r["current_severity"], r["candidate_severity"]) for r in change["rules"]}
    assert ("sbom-verified", "blocking", "advisory") in statuses
    assert all(r["current_status"] == r["candidate_status"] == "failed" for r in change["rules"])
    same = dry_run(client, verified["id"], {"version": 1})
    assert (same["considered"], same["changed_total"], same["changed"]) == (1, 0, [])


def test_filters_choose_the_runs_considered(client: TestClient) -> None:
    candidate = create_policy(client, VERIFIED)
    mine = [make_run(client, owner="alice"), make_run(client, owner="alice")]
    make_run(client, owner="bob")
    make_run(client, owner="alice", status="failed")
    by_owner = dry_run(client, candidate["id"], {"filters": {"owner": "alice", "status": "succeeded"}})
    assert by_owner["considered"] == 2
    assert [c["run_id"] for c in by_owner["changed"]] == mine[::-1]  # newest first
    later = (T0 + timedelta(seconds=next(_clock) - 2)).isoformat()
    window = dry_run(client, candidate["id"], {"filters": {"started_after": later}})
    assert window["considered"] == 2  # the last two runs started at or after it


def test_limit_truncates_and_the_cursor_goes_on(client: TestClient) -> None:
    candidate = create_policy(client, VERIFIED)
    runs = [make_run(client) for _ in range(5)][::-1]
    first = dry_run(client, candidate["id"], {"limit": 2, "max_changed": 1})
    assert (first["considered"], first["changed_total"], first["truncated"]) == (2, 2, True)
    assert [c["run_id"] for c in first["changed"]] == runs[:1]
    seen = [runs[0], runs[1]]
    cursor = first["next_cursor"]
    while cursor is not None:
        page = dry_run(client, candidate["id"], {"limit": 2, "cursor": cursor})
        seen += [c["run_id"] for c in page["changed"]]
        cursor = page["next_cursor"]
        assert page["truncated"] is (cursor is not None)
    assert seen == runs


def test_the_time_budget_stops_between_chunks(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    candidate = create_policy(client, VERIFIED)
    for _ in range(3):
        make_run(client)
    monkeypatch.setattr(dry_run_service, "CHUNK", 1)
    ticks = itertools.count(step=dry_run_service.BUDGET_S)  # each chunk "takes" the whole budget
    monkeypatch.setattr(dry_run_service, "monotonic", lambda: float(next(ticks)))
    answer = dry_run(client, candidate["id"])
    assert (answer["considered"], answer["truncated"]) == (1, True)
    assert answer["next_cursor"]


def test_another_tenants_policy_is_404_and_its_runs_are_never_considered(
    client: TestClient, maestro_store: Database
) -> None:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    viewer = bearer(issue(maestro_store, Role.VIEWER, "alpha"))
    theirs = create_policy(client, VERIFIED, headers=beta)
    refused = dry_run(client, theirs["id"], status=404, headers=alpha)
    assert refused["error"] == "policy_not_found"
    make_run(client, headers=beta)
    make_run(client, headers=beta)
    own = make_run(client, headers=alpha)
    ours = create_policy(client, VERIFIED, headers=alpha)
    answer = dry_run(client, ours["id"], headers=viewer)  # a viewer may: nothing is written
    assert answer["considered"] == 1
    assert [c["run_id"] for c in answer["changed"]] == [own]
    builtin = dry_run(client, "builtin:verified-evidence", headers=alpha)
    assert builtin["considered"] == 1


def test_errors_name_the_field(client: TestClient) -> None:
    candidate = create_policy(client, VERIFIED)
    for body, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"max_changed": 1001}, "max_changed"),
        ({"filters": {"bogus": 1}}, "filters.bogus"),
        ({"filters": {"status": "done"}}, "filters.status"),
        ({"filters": {"started_after": "yesterday"}}, "filters.started_after"),
        ({"cursor": "!!"}, "cursor"),
        ({"cursor": "abc"}, "cursor"),
        ({"version": 0}, "version"),
    ]:
        answer = dry_run(client, candidate["id"], body, status=422)
        assert answer["errors"][0]["field"] == field, (body, answer)
    missing = dry_run(client, candidate["id"], {"version": 9}, status=404)
    assert missing["error"] == "policy_not_found"
    assert dry_run(client, "no-such-policy", status=404)["error"] == "policy_not_found"


def test_upstream_runs_are_judged_under_their_own_policy(client: TestClient) -> None:
    """verified-evidence requires passing upstream gates: a passing run downstream of a
    failing one changes under the candidate for that reason too."""
    candidate = create_policy(client, VERIFIED)
    failing = make_run(client, status="failed")
    downstream = make_run(client, depends_on=[failing])
    answer = dry_run(client, candidate["id"], {"filters": {"status": "succeeded"}})
    [change] = answer["changed"]
    assert change["run_id"] == downstream
    rules = {r["rule"]: r for r in change["rules"]}
    assert rules["upstream-gates-passed"]["candidate_status"] == "failed"
    assert failing in rules["upstream-gates-passed"]["message"]


def test_a_dry_run_writes_nothing(client: TestClient) -> None:
    candidate = create_policy(client, VERIFIED)
    make_run(client)
    client.app.state.gate_follower.stop()  # type: ignore[attr-defined]  # its verdicts are not the dry-run's
    before = client.get("/maestro/audit").json()
    dry_run(client, candidate["id"])
    assert client.get("/maestro/audit").json() == before


def waive(client: TestClient, run_id: str, rule: str) -> None:
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"rule": rule, "run_id": run_id, "reason": "accepted for this run", "expires_at": until}
    response = client.post("/maestro/waivers", json=body)
    assert response.status_code == 201, response.text


def test_waivers_in_force_apply_on_both_sides(client: TestClient) -> None:
    """A rule waived for a run blocks on neither side, so only the unwaived run changes."""
    lenient = {**SEED, "name": "lenient", "rules": [{"rule": "run-succeeded", "severity": "advisory"}]}
    candidate = create_policy(client, lenient)
    waived, unwaived = make_run(client, status="failed"), make_run(client, status="failed")
    waive(client, waived, "run-succeeded")
    answer = dry_run(client, candidate["id"])
    assert (answer["considered"], answer["changed_total"]) == (2, 1)
    [change] = answer["changed"]
    assert change["run_id"] == unwaived
    assert [(r["rule"], r["current_status"], r["candidate_status"]) for r in change["rules"]] == [
        ("run-succeeded", "failed", "failed")
    ]


RUNS = st.lists(
    st.tuples(
        st.sampled_from(["succeeded", "failed", "running"]),
        st.booleans(),
        st.sampled_from(["a", "b", None]),
        st.booleans(),  # depends on the run made before it
        st.sampled_from([None, "run-succeeded", "declared-compliant-artifact", "sbom-verified"]),  # waived
    ),
    min_size=1,
    max_size=6,
)


def test_dry_run_agrees_with_judging_each_run_one_by_one(client: TestClient) -> None:
    """Whatever the runs, assignments and waivers, a run is listed exactly when its gate under its
    own policy and under the candidate disagree, with the rules that block on one side."""
    verified = create_policy(client, VERIFIED)
    seed = create_policy(client, SEED)
    relaxed = create_policy(client, {**VERIFIED, "name": "relaxed", "default_severity": "advisory"})
    for body in (
        {"policy_id": verified["id"], "metadata": {"team": "a"}},
        {"policy_id": relaxed["id"], "metadata": {"team": "b"}},
    ):
        assert client.post("/maestro/policy-assignments", json=body).status_code == 201
    candidates = [verified["id"], seed["id"], relaxed["id"], "builtin:seed-default"]

    @settings(max_examples=12, deadline=None)
    @given(RUNS, st.sampled_from(candidates))
    def check(runs: list[tuple[str, bool, str | None, bool, str | None]], candidate: str) -> None:
        owner = f"o-{uuid.uuid4().hex[:8]}"
        ids: list[str] = []
        for s, f, t, d, w in runs:
            upstream = ids[-1:] if d else []
            metadata = {"team": t} if t else {}
            ids.append(
                make_run(client, status=s, flags=f, owner=owner, metadata=metadata, depends_on=upstream)
            )
            if w is not None:
                waive(client, ids[-1], w)
        expected = {}
        for run_id in ids:
            now = client.get(f"/maestro/runs/{run_id}/release-gate").json()
            then = client.get(f"/maestro/runs/{run_id}/release-gate", params={"policy": candidate}).json()
            if now["passed"] != then["passed"]:
                block = {
                    side: {
                        r["rule"]
                        for r in g["results"]
                        if (r["status"], r["severity"]) == ("failed", "blocking")
                    }
                    for side, g in (("now", now), ("then", then))
                }
                expected[run_id] = (now["policy"]["id"], sorted(block["now"] ^ block["then"]))
        answer = dry_run(client, candidate, {"filters": {"owner": owner}})
        assert answer["considered"] == len(ids)
        got = {
            c["run_id"]: (c["current"]["policy"]["id"], [r["rule"] for r in c["rules"]])
            for c in answer["changed"]
        }
        assert got == expected

    check()
