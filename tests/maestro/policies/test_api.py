"""/maestro/policies, /maestro/policy-assignments and the gate under them, end to end on
both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.platform.uow import DetachedScope
from maestro.policies.rego_port import Outcome
from maestro.policy_registry import repository as policy_repository
from maestro.policy_registry import service as policy_service
from maestro.tenancy.roles import Role
from tests.maestro.conftest import ALL_FLAGS
from tests.maestro.policies.support import APP_DIGEST, provenance, risk, sbom
from tests.maestro.tenancy.helpers import bearer, issue

VERIFIED = {"name": "release", "kind": "builtin", "builtin": "verified-evidence"}


def create(client: TestClient, body: dict[str, Any], status: int = 201, **kwargs: Any) -> dict[str, Any]:
    response = client.post("/maestro/policies", json=body, **kwargs)
    assert response.status_code == status, response.text
    return dict(response.json())


def assign(client: TestClient, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response = client.post("/maestro/policy-assignments", json=body, **kwargs)
    assert response.status_code == 201, response.text
    return dict(response.json())


def gate(client: TestClient, run_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/maestro/runs/{run_id}/release-gate", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def run_with(client: TestClient, *, owner: str = "o", metadata: dict[str, Any] | None = None) -> str:
    body = {"name": "n", "owner": owner, "status": "succeeded", "metadata": metadata or {}}
    run_id = str(client.post("/maestro/runs", json=body).json()["id"])
    client.post(
        "/maestro/artifacts",
        json={"run_id": run_id, "kind": "other", "path_or_uri": "b.tgz", "metadata_json": ALL_FLAGS},
    )
    return run_id


def upload(client: TestClient, run_id: str, kind: str, data: bytes) -> str:
    artifact = client.post(
        "/maestro/artifacts", json={"run_id": run_id, "kind": kind, "path_or_uri": kind}
    ).json()
    response = client.put(f"/maestro/artifacts/{artifact['id']}/content", content=data)
    assert response.status_code == 201, response.text
    return str(artifact["id"])


# ---------------------------------------------------------------- policies


def test_versions_are_immutable_and_digests_follow_content(client: TestClient) -> None:
    first = create(client, VERIFIED)
    assert (first["version"], first["kind"], first["builtin"]) == (1, "builtin", "verified-evidence")
    assert first["digest"].startswith("sha256:")
    same = create(client, VERIFIED, status=200)
    assert same == first
    second = create(
        client, {**VERIFIED, "rules": [{"rule": "dsse-trusted-signature", "severity": "advisory"}]}
    )
    assert (second["id"], second["version"]) == (first["id"], 2)
    assert second["digest"] != first["digest"]
    assert client.get(f"/maestro/policies/{first['id']}").json() == second
    versions = client.get(f"/maestro/policies/{first['id']}/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0] == first
    other = create(client, {**VERIFIED, "name": "other"})
    assert other["digest"] != first["digest"]  # the name is part of the content
    listed = client.get("/maestro/policies", params={"limit": 1})
    assert [p["id"] for p in listed.json()] == [other["id"]]
    assert 'rel="next"' in listed.headers["Link"]


def test_the_same_rules_in_another_order_have_the_same_digest(client: TestClient) -> None:
    rules = [
        {"rule": "vex-no-unaddressed-affected"},
        {"rule": "dsse-trusted-signature", "effective_on": "2027-01-01"},
    ]
    one = create(client, {**VERIFIED, "name": "a", "rules": rules})
    two = create(client, {**VERIFIED, "name": "a", "rules": rules[::-1]}, status=200)
    assert one["digest"] == two["digest"]
    assert [r["rule"] for r in one["rules"]] == ["dsse-trusted-signature", "vex-no-unaddressed-affected"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "x", "kind": "builtin", "builtin": "nope"}, "builtin", "unknown built-in policy 'nope'"),
        ({"name": "x", "kind": "builtin"}, "builtin", "is required for kind 'builtin'"),
        ({**VERIFIED, "rules": [{"rule": "no-such"}, {"rule": "zz"}]}, "rules", "no-such, zz"),
        ({**VERIFIED, "module": "package x"}, "module", "only for kind 'rego'"),
        ({"name": "x", "kind": "rego"}, "module", "is required for kind 'rego'"),
    ],
)
def test_bad_policies_are_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str, words: str
) -> None:
    response = client.post("/maestro/policies", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert words in response.json()["detail"]


def test_shape_limits_are_422(client: TestClient) -> None:
    too_many = [{"rule": f"r{i}"} for i in range(101)]
    for body in (
        {"name": "Bad Name", "kind": "builtin", "builtin": "seed-default"},
        {"name": "x", "kind": "rego", "module": "x" * (64 * 1024 + 1)},
        {"name": "x", "kind": "rego", "module": "package x", "rules": too_many},
        {"name": "x", "kind": "rego", "module": "package x", "rules": [{"rule": "a"}, {"rule": "a"}]},
        {**VERIFIED, "rules": [{"rule": "sbom-verified", "effective_on": "soon"}]},
    ):
        assert client.post("/maestro/policies", json=body).status_code == 422, body


class FakeRego:
    def __init__(self, problem: str | None = None, outcome: Outcome | None = None) -> None:
        self.problem, self.outcome = problem, outcome or Outcome()

    def compile_error(self, module: str) -> str | None:
        return self.problem

    def evaluate(self, module: str, input: dict[str, Any], *, timeout_s: float, memory_bytes: int) -> Outcome:  # noqa: A002
        return self.outcome


def test_a_rego_module_that_does_not_compile_is_422_with_the_compilers_message(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        policy_service, "default_evaluator", lambda: FakeRego("1:9: rego_parse_error: unexpected")
    )
    response = client.post("/maestro/policies", json={"name": "r", "kind": "rego", "module": "package"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "module"
    assert "rego_parse_error: unexpected" in response.json()["detail"]
    monkeypatch.setattr(policy_service, "default_evaluator", lambda: FakeRego())
    created = create(client, {"name": "r", "kind": "rego", "module": "package maestro\n"})
    assert (created["kind"], created["module"]) == ("rego", "package maestro\n")


def test_builtins_are_readable_without_setup(client: TestClient) -> None:
    seed = client.get("/maestro/policies/builtin:seed-default").json()
    assert (seed["id"], seed["version"], seed["created_at"]) == ("builtin:seed-default", 1, None)
    assert client.get("/maestro/policies/builtin:nope").status_code == 404
    assert len(client.get("/maestro/policies/builtin:verified-evidence/versions").json()) == 1


# -------------------------------------------------------------------- gate


def test_the_default_gate_is_the_seeds_with_its_explanation(client: TestClient) -> None:
    run_id = run_with(client)
    result = gate(client, run_id)
    assert result["passed"] is True
    assert result["message"] == "Release gate passed: 1 compliant artifact(s) found"
    seed = client.get("/maestro/policies/builtin:seed-default").json()
    assert result["policy"] == {
        "id": seed["id"],
        "name": "seed-default",
        "version": 1,
        "digest": seed["digest"],
    }
    assert [r["rule"] for r in result["results"]] == ["run-succeeded", "declared-compliant-artifact"]
    assert result["input_digest"].startswith("sha256:")
    again = gate(client, run_id)
    assert again["input_digest"] != result["input_digest"] or again["evaluated_at"] == result["evaluated_at"]
    pinned = gate(client, run_id, as_of="2026-01-01T00:00:00Z")
    assert pinned["evaluated_at"] == "2026-01-01T00:00:00Z"
    assert pinned["input_digest"] == gate(client, run_id, as_of="2026-01-01")["input_digest"]
    manifest = client.get(f"/maestro/runs/{run_id}/manifest").json()["release_gate"]
    assert {k: manifest[k] for k in ("passed", "message", "details", "policy")} == {
        k: result[k] for k in ("passed", "message", "details", "policy")
    }


def test_verified_evidence_end_to_end(client: TestClient) -> None:
    run_id = run_with(client)
    declared_only = gate(client, run_id, policy="builtin:verified-evidence")
    assert declared_only["passed"] is False
    assert "which Maestro cannot check" in declared_only["details"]["reasons"][0]
    assert gate(client, run_id)["passed"] is True  # the assignment did not change
    ids = [
        upload(client, run_id, "sbom", sbom()),
        upload(client, run_id, "slsa_provenance", provenance(APP_DIGEST)),
        upload(client, run_id, "risk_assessment", risk()),
    ]
    verified = gate(client, run_id, policy="builtin:verified-evidence")
    assert verified["passed"] is True, verified["message"]
    found = {r["rule"]: r for r in verified["results"]}
    assert found["sbom-verified"]["evidence"] == [ids[0]]
    assert found["provenance-covers-subjects"]["evidence"] == [ids[1]]


def test_gate_query_errors(client: TestClient, maestro_store: Database) -> None:
    run_id = run_with(client)
    for params, field in (({"as_of": "yesterday"}, "as_of"), ({"policy_version": 2}, "policy_version")):
        response = client.get(f"/maestro/runs/{run_id}/release-gate", params=params)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    assert client.get(f"/maestro/runs/{run_id}/release-gate", params={"policy": "nope"}).status_code == 404
    policy = create(client, VERIFIED)
    early = client.get(
        f"/maestro/runs/{run_id}/release-gate", params={"policy": policy["id"], "as_of": "2020-01-01"}
    )
    assert early.status_code == 422
    assert "had no version yet" in early.json()["detail"]
    missing = client.get(
        f"/maestro/runs/{run_id}/release-gate", params={"policy": policy["id"], "policy_version": 9}
    )
    assert missing.status_code == 404


def test_as_of_evaluates_the_version_in_force_then(client: TestClient) -> None:
    run_id = run_with(client)
    first = create(client, {"name": "gate", "kind": "builtin", "builtin": "seed-default"})
    second = create(
        client, {"name": "gate", "kind": "builtin", "builtin": "seed-default", "default_severity": "advisory"}
    )
    now = gate(client, run_id, policy=first["id"])
    assert now["policy"]["version"] == 2
    between = client.get(
        f"/maestro/runs/{run_id}/release-gate", params={"policy": first["id"], "as_of": first["created_at"]}
    ).json()
    assert between["policy"] == {"id": first["id"], "name": "gate", "version": 1, "digest": first["digest"]}
    assert second["digest"] != first["digest"]
    pinned = gate(client, run_id, policy=first["id"], policy_version=1)
    assert pinned["policy"]["version"] == 1


# ------------------------------------------------------------- assignments


def test_assignment_precedence(client: TestClient) -> None:
    tenant = create(client, {"name": "tenant", "kind": "builtin", "builtin": "seed-default"})
    by_owner = create(client, {"name": "owner", "kind": "builtin", "builtin": "seed-default"})
    one_key = create(client, {"name": "one-key", "kind": "builtin", "builtin": "seed-default"})
    two_keys = create(client, {"name": "two-keys", "kind": "builtin", "builtin": "seed-default"})
    plain = run_with(client)
    assert gate(client, plain)["policy"]["id"] == "builtin:seed-default"
    assign(client, {"policy_id": tenant["id"]})
    assign(client, {"policy_id": by_owner["id"], "owner": "team-a"})
    assign(client, {"policy_id": one_key["id"], "metadata": {"project": "counter-intel"}})
    assign(client, {"policy_id": two_keys["id"], "metadata": {"project": "counter-intel", "tier": 1}})
    cases = [
        (run_with(client), "tenant"),
        (run_with(client, owner="team-a"), "owner"),
        (run_with(client, owner="team-a", metadata={"project": "counter-intel"}), "one-key"),
        (run_with(client, metadata={"project": "counter-intel", "tier": 1, "x": 2}), "two-keys"),
        (run_with(client, owner="team-a", metadata={"project": "counter-intel", "tier": "1"}), "one-key"),
        (run_with(client, owner="team-b", metadata={"project": "other"}), "tenant"),
    ]
    for run_id, expected in cases:
        assert gate(client, run_id)["policy"]["name"] == expected, expected
    override = gate(client, cases[0][0], policy="builtin:verified-evidence")
    assert override["policy"]["name"] == "verified-evidence"


def test_tenant_default_severity_applies_to_rules_without_one(client: TestClient) -> None:
    policy = create(client, {"name": "soft", "kind": "builtin", "builtin": "seed-default"})
    assign(client, {"policy_id": policy["id"], "default_severity": "advisory"})
    run_id = str(client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"])
    result = gate(client, run_id)
    assert result["passed"] is True
    assert {r["severity"] for r in result["results"]} == {"advisory"}
    assert result["message"].startswith(
        "Release gate passed: 0 compliant artifact(s) found (advisory failures:"
    )


def test_assignment_errors(client: TestClient) -> None:
    policy = create(client, VERIFIED)
    for body, field in (
        ({"policy_id": "nope"}, "policy_id"),
        ({"policy_id": policy["id"], "policy_version": 5}, "policy_version"),
        ({"policy_id": policy["id"], "owner": "a", "metadata": {"k": "v"}}, "metadata"),
        ({"policy_id": policy["id"], "owner": "a", "default_severity": "advisory"}, "default_severity"),
    ):
        response = client.post("/maestro/policy-assignments", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
    made = assign(client, {"policy_id": policy["id"], "owner": "a"})
    clash = client.post("/maestro/policy-assignments", json={"policy_id": policy["id"], "owner": "a"})
    assert clash.status_code == 409
    assert made["id"] in clash.json()["detail"]
    assert client.get(f"/maestro/policy-assignments/{made['id']}").json() == made
    assert [a["id"] for a in client.get("/maestro/policy-assignments").json()] == [made["id"]]
    assert client.delete(f"/maestro/policy-assignments/{made['id']}").status_code == 204
    assert client.get(f"/maestro/policy-assignments/{made['id']}").status_code == 404
    assert client.delete(f"/maestro/policy-assignments/{made['id']}").status_code == 404


# ------------------------------------------------------- tenants and roles


def test_version_queries_see_only_the_scopes_tenant(client: TestClient, maestro_store: Database) -> None:
    """Versions carry no tenant: each query joins its policy's row on the scope's tenant,
    so a caller that forgets to look the policy up first still finds nothing of another's."""
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    issue(maestro_store, Role.ADMIN, "beta")
    policy = create(client, VERIFIED, headers=alpha)
    far_future = datetime(2999, 1, 1, tzinfo=UTC)
    with maestro_store.read() as session:
        for tenant, seen in (("alpha", 1), ("beta", 0)):
            scope = DetachedScope(session, tenant)
            assert len(policy_repository.versions(scope, policy["id"])) == seen
            assert len(policy_repository.latest_versions(scope, [policy["id"]])) == seen
            in_force = policy_repository.version_in_force(scope, policy["id"], None, far_future)
            pinned = policy_repository.version_in_force(scope, policy["id"], 1, far_future)
            assert [in_force is not None, pinned is not None] == [bool(seen)] * 2


def test_another_tenants_policies_are_not_found_and_writes_are_audited(
    client: TestClient, maestro_store: Database
) -> None:
    alpha = bearer(issue(maestro_store, Role.ADMIN, "alpha"))
    beta = bearer(issue(maestro_store, Role.ADMIN, "beta"))
    viewer = bearer(issue(maestro_store, Role.VIEWER, "alpha"))
    policy = create(client, VERIFIED, headers=alpha)
    for path in (f"/maestro/policies/{policy['id']}", f"/maestro/policies/{policy['id']}/versions"):
        assert client.get(path, headers=beta).status_code == 404
        assert client.get(path, headers=viewer).status_code == 200
    assert client.get("/maestro/policies", headers=beta).json() == []
    run = client.post("/maestro/runs", json={"name": "n", "owner": "o"}, headers=beta).json()
    foreign = client.get(
        f"/maestro/runs/{run['id']}/release-gate", params={"policy": policy["id"]}, headers=beta
    )
    assert foreign.status_code == 404
    assert foreign.json()["error"] == "policy_not_found"
    refused = client.post("/maestro/policy-assignments", json={"policy_id": policy["id"]}, headers=beta)
    assert refused.status_code == 422
    assert client.post("/maestro/policies", json=VERIFIED, headers=viewer).status_code == 403
    assert (
        client.post(
            "/maestro/policy-assignments", json={"policy_id": policy["id"]}, headers=viewer
        ).status_code
        == 403
    )
    made = assign(client, {"policy_id": policy["id"]}, headers=alpha)
    create(client, {**VERIFIED, "default_severity": "advisory"}, headers=alpha)
    assert client.delete(f"/maestro/policy-assignments/{made['id']}", headers=alpha).status_code == 204
    events = client.get("/maestro/audit", headers=alpha).json()
    actions = [
        (e["event"]["action"], e["event"]["object"]["id"])
        for e in events
        if e["event"]["action"] != "auth.denied"
    ]
    assert actions == [
        ("policy.create", policy["id"]),
        ("policy_assignment.create", made["id"]),
        ("policy.version", policy["id"]),
        ("policy_assignment.delete", made["id"]),
    ]


def test_upstream_gates_read_the_runs_dependencies(client: TestClient) -> None:
    good = run_with(client)
    bad = str(client.post("/maestro/runs", json={"name": "n", "owner": "o"}).json()["id"])  # pending: fails
    body = {"name": "n", "owner": "o", "status": "succeeded", "depends_on": [good, bad]}
    child = str(client.post("/maestro/runs", json=body).json()["id"])
    client.post(
        "/maestro/artifacts",
        json={"run_id": child, "kind": "other", "path_or_uri": "b.tgz", "metadata_json": ALL_FLAGS},
    )
    assert gate(client, child)["passed"] is True  # seed-default leaves upstream alone unless asked
    strict = create(
        client,
        {
            "name": "chain",
            "kind": "builtin",
            "builtin": "seed-default",
            "rules": [{"rule": "upstream-gates-passed"}],
        },
    )
    result = gate(client, child, policy=strict["id"])
    found = {r["rule"]: r for r in result["results"]}["upstream-gates-passed"]
    assert (found["status"], sorted(found["evidence"])) == ("failed", sorted([good, bad]))
    assert found["message"] == f"Upstream run(s) whose release gate fails: {bad}"
    assert result["passed"] is False
    grandchild = client.post(
        "/maestro/runs", json={"name": "n", "owner": "o", "status": "succeeded", "depends_on": [child]}
    ).json()["id"]
    verified = {r["rule"]: r for r in gate(client, grandchild, policy="builtin:verified-evidence")["results"]}
    assert verified["upstream-gates-passed"]["status"] == "passed"  # child passes its own (assigned) gate


REGO_MODULE = """package maestro.policy

import rego.v1

violations contains {"rule": "sbom-declared", "message": sprintf("artifact %s declares no SBOM", [a.id])} if {
    some a in input.artifacts
    not a.declared.sbom_present
}

warnings contains {"rule": "content-uploaded", "message": sprintf("artifact %s has no content", [a.id])} if {
    some a in input.artifacts
    a.evidence == null
}
"""


def test_a_rego_policy_judges_the_input_document(client: TestClient) -> None:
    policy = create(
        client,
        {"name": "team", "kind": "rego", "module": REGO_MODULE, "rules": [{"rule": "sbom-declared"}]},
    )
    run_id = run_with(client)
    passing = gate(client, run_id, policy=policy["id"])
    assert passing["passed"] is True, passing["message"]
    assert [(r["rule"], r["status"]) for r in passing["results"]] == [
        ("content-uploaded", "warning"),
        ("sbom-declared", "passed"),
    ]
    bare = client.post(
        "/maestro/artifacts", json={"run_id": run_id, "kind": "other", "path_or_uri": "x"}
    ).json()
    failing = gate(client, run_id, policy=policy["id"])
    assert failing["passed"] is False
    assert failing["details"]["reasons"] == [f"artifact {bare['id']} declares no SBOM"]
    broken = client.post("/maestro/policies", json={"name": "broken", "kind": "rego", "module": "package"})
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "module"
