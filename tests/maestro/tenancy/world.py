"""A tenant's full set of objects, built through the API, for the route matrices: two
runs, three artifacts with content (two SBOMs and an archive), two packs, a trusted
key, two waivers of run 0, an admin, a writer and a viewer token, and the audit events all of that wrote.
Every name and string in it carries the tenant's id, so a leak scan can tell whose
data an answer shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient

from maestro.db.engine import Database
from maestro.tenancy.contract import TokenSecret
from maestro.tenancy.roles import Role
from tests.maestro.evidence import builders
from tests.maestro.tenancy.helpers import bearer, issue

IDEMPOTENCY_KEY = "matrix-shared-idempotency-key"
SHARED_COMPONENT = "matrix-shared-lib"


def new_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def sbom(tenant: str, run: int) -> bytes:
    """A CycloneDX SBOM whose components name the tenant, plus one every tenant has."""
    doc = builders.cyclonedx(3)
    for i, component in enumerate(doc["components"]):
        component["name"] = f"{tenant}-secret-lib{i}"
        component["purl"] = f"pkg:pypi/{tenant}-secret-lib{i}@1.{i}.{run}"
        component["version"] = f"1.{i}.{run}"
        component["bom-ref"] = f"{tenant}-c{i}"
    doc["components"].append(
        {
            "type": "library",
            "name": SHARED_COMPONENT,
            "version": "1.0",
            "purl": f"pkg:pypi/{SHARED_COMPONENT}@1.0",
        }
    )
    return builders.dumps(doc)


def archive(tenant: str) -> bytes:
    return builders.zip_of({f"{tenant}-secret-{i}.txt": f"{tenant} line {i}\n".encode() for i in range(3)})


def expect(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


@dataclass
class World:
    """One tenant's objects, as the API answered when creating them."""

    tenant: str
    admin_token: TokenSecret
    writer_token: TokenSecret
    viewer_token: TokenSecret
    runs: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(
        default_factory=list
    )  # sbom (run 0), archive (run 0), sbom (run 1)
    packs: list[dict[str, Any]] = field(default_factory=list)
    key: dict[str, Any] = field(default_factory=dict)
    key_pem: str = ""
    contents: list[bytes] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return bearer(self.admin_token)

    def object_id(self, kind: str) -> str:
        """The id a path parameter of this kind takes."""
        return {
            "run": self.runs[0]["id"],
            "artifact": self.artifacts[0]["id"],
            "archive": self.artifacts[1]["id"],
            "pack": self.packs[0]["id"],
            "trusted_key": self.key["id"],
            "token": self.viewer_token.id,
            "waiver": self.waivers[0]["id"],
            "policy": self.policies[0]["id"],
            "assignment": self.assignments[0]["id"],
        }[kind]

    def secrets(self) -> set[str]:
        """Every id and distinctive string of this tenant: none may reach another tenant."""
        found = {self.key["id"], self.key["key_id"], self.key["name"]}
        found |= {t.id for t in (self.admin_token, self.writer_token, self.viewer_token)}
        for run in self.runs:
            found |= {run["id"], run["name"], run["owner"], *run["related_entity_ids"]}
            found |= set(run["related_decision_ids"])
        for artifact in self.artifacts:
            found |= {artifact["id"], artifact["path_or_uri"], artifact["content"]["digest"]}
        for pack in self.packs:
            found |= {pack["id"], pack["summary"]}
        for waiver in self.waivers:
            found |= {waiver["id"], waiver["rule"], waiver["reason"]}
        found |= {line for line in self.key_pem.splitlines() if not line.startswith("-----")}
        found |= {p["id"] for p in self.policies} | {p["name"] for p in self.policies}
        found |= {a["id"] for a in self.assignments} | {a["owner"] for a in self.assignments}
        found |= {f"{self.tenant}-secret-lib{i}" for i in range(3)} | {
            f"{self.tenant}-secret-{i}.txt" for i in range(3)
        }
        return found


def _artifact(client: TestClient, world: World, run_id: str, kind: str, name: str, data: bytes) -> None:
    meta = (
        f'{{"run_id": "{run_id}", "kind": "{kind}", "path_or_uri": "file:///{world.tenant}-secret-{name}"}}'
    )
    response = client.post(
        "/maestro/artifacts", data={"artifact": meta}, files={"file": (name, data)}, headers=world.admin
    )
    world.artifacts.append(expect(response, 201))
    world.contents.append(data)


def build_world(
    client: TestClient, db: Database, tenant: str, *, extra_runs: int = 0, idempotency_key: str | None = None
) -> World:
    """Everything a tenant can own, created by its own admin; ``extra_runs`` more runs
    (so that two tenants' logs differ in size); the first run sent with ``idempotency_key``."""
    world = World(
        tenant, issue(db, Role.ADMIN, tenant), issue(db, Role.WRITER, tenant), issue(db, Role.VIEWER, tenant)
    )
    for n in range(2 + extra_runs):
        body = {
            "name": f"{tenant}-secret-run-{n}",
            "owner": f"{tenant}-owner@example.com",
            "related_entity_ids": [f"{tenant}-secret-entity"],
            "related_decision_ids": [f"{tenant}-secret-decision"],
            "metadata": {"note": f"{tenant}-secret-metadata"},
        }
        headers = (
            {**world.admin, "Idempotency-Key": idempotency_key} if n == 0 and idempotency_key else world.admin
        )
        world.runs.append(expect(client.post("/maestro/runs", json=body, headers=headers), 201))
    first, second = world.runs[0]["id"], world.runs[1]["id"]
    # a verdict on the bare run now, another once it has artifacts: the first run has two
    # recorded evaluations (a second page to page to) whenever the background passes run
    judged = client.get(f"/maestro/runs/{first}/gate-evaluations", headers=world.admin)
    assert judged.status_code == 200, judged.text
    _artifact(client, world, first, "sbom", "bom-0.json", sbom(tenant, 0))
    _artifact(client, world, first, "other", "bundle.zip", archive(tenant))
    _artifact(client, world, second, "sbom", "bom-1.json", sbom(tenant, 1))
    for n in range(2):
        body = {
            "run_id": first,
            "summary": f"{tenant}-secret-summary-{n}",
            "artifact_ids": [world.artifacts[0]["id"]],
        }
        world.packs.append(
            expect(client.post("/maestro/disclosure-packs", json=body, headers=world.admin), 201)
        )
    world.key_pem = new_pem()
    key = {"name": f"{tenant}-secret-key", "pem": world.key_pem}
    world.key = expect(client.post("/maestro/trusted-keys", json=key, headers=world.admin), 201)
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    for n in range(2):
        body = {"rule": f"{tenant}-secret-rule", "run_id": first, "reason": f"{tenant}-secret-reason-{n}"}
        response = client.post("/maestro/waivers", json={**body, "expires_at": until}, headers=world.admin)
        world.waivers.append(expect(response, 201))
    for n in range(2):
        policy = {"name": f"{tenant}-secret-policy-{n}", "kind": "builtin", "builtin": "seed-default"}
        made = expect(client.post("/maestro/policies", json=policy, headers=world.admin), 201)
        world.policies.append(made)
        assignment = {"policy_id": made["id"], "owner": f"{tenant}-secret-owner-{n}"}
        world.assignments.append(
            expect(client.post("/maestro/policy-assignments", json=assignment, headers=world.admin), 201)
        )
    # the gate evaluator judges what was just made; a read of recorded verdicts catches it up,
    # so the tenant's log and objects stay as they are unless a request changes them
    for _ in range(2):
        settled = client.get(f"/maestro/runs/{first}/gate-evaluations", headers=world.admin)
        assert settled.status_code == 200, settled.text
    return world
