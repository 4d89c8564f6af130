"""The audit log on both databases: appends, exports that verify, parallel appenders,
proofs served by the API, filters and pagination, and an append-only service role."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from maestro.audit import checkpoint, merkle, recorder, repository, signing_key
from maestro.audit.verify import verify
from maestro.db.audit_tables import AuditEventRow
from maestro.db.engine import Database
from tests.maestro.audit_support import build_export, draft, record


@pytest.fixture
def signer(tmp_path: Path) -> signing_key.Signer:
    return signing_key.load(tmp_path / "data", None, "https://maestro.example.com")


def test_ten_thousand_events_in_three_tenants_verify(
    maestro_store: Database, signer: signing_key.Signer
) -> None:
    rng = random.Random(9)
    counts = {"alpha": 0, "beta": 0, "gamma": 0}
    while sum(counts.values()) < 10_000:
        tenant = rng.choice(list(counts))
        batch = rng.randint(1, 60)
        record(maestro_store, tenant, batch, batch=batch, start=counts[tenant])
        counts[tenant] += batch
    key = signer.private.public_key()
    with maestro_store.read() as session:
        for tenant, count in counts.items():
            export = build_export(session, signer, tenant)
            assert [e["index"] for e in export["events"]] == list(range(count))
            report = verify(export, [key])
            assert report.problem is None
            assert report.checkpoint is not None
            assert report.checkpoint.origin == f"maestro.example.com/audit/{tenant}"
            assert report.checkpoint.size == count


@pytest.mark.parametrize("writers", [8])
def test_parallel_appenders_never_fork_a_tree(maestro_store: Database, writers: int) -> None:
    """Threads appending 1-3 events a transaction to two tenants: indexes stay 0..n-1 and
    the stored head, subtrees and proofs agree with the tree recomputed from the leaves."""
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        try:
            for n in range(15):
                with maestro_store.write() as session:
                    events = [draft(seed * 100 + n)] * rng.randint(1, 3)
                    recorder.append(session, tenant_id=rng.choice(["a", "b"]), events=events)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with maestro_store.read() as session:
        for tenant in ("a", "b"):
            rows = session.execute(
                select(AuditEventRow.idx, AuditEventRow.leaf_hash)
                .where(AuditEventRow.tenant_id == tenant)
                .order_by(AuditEventRow.idx)
            ).all()
            leaves = [leaf for _, leaf in rows]
            assert [idx for idx, _ in rows] == list(range(len(rows)))
            head = repository.head(session, tenant)
            assert (head.size, head.root) == (len(leaves), merkle.root(leaves))
            for index in range(0, len(leaves), 7):
                proof = repository.inclusion_proof(session, tenant, index, head.size)
                merkle.verify_inclusion(index, head.size, leaves[index], proof, head.root)


def test_an_append_rolled_back_leaves_no_trace(maestro_store: Database) -> None:
    record(maestro_store, "default", 3)

    def fail_after_staging() -> None:
        with maestro_store.write() as session:
            recorder.append(session, tenant_id="default", events=[draft(1), draft(2)])
            raise RuntimeError("the request failed after its audit events were staged")

    with pytest.raises(RuntimeError):
        fail_after_staging()
    record(maestro_store, "default", 1, start=3)
    with maestro_store.read() as session:
        assert repository.head(session, "default").size == 4
        assert len(repository.list_events(session, "default", repository.AuditFilter(), 10, None)[0]) == 4
    with maestro_store.write() as session:
        assert recorder.append(session, tenant_id="default", events=[]) == []


def test_proofs_from_the_endpoints_verify_against_the_checkpoint(
    client: TestClient, maestro_store: Database
) -> None:
    record(maestro_store, "default", 37, batch=5)
    (key,) = client.get("/maestro/keys").json()
    public = load_pem_public_key(key["pem"].encode())
    note = client.get("/maestro/audit/checkpoint").text
    origin = note.split("\n", 1)[0]
    cp = checkpoint.verify(note, origin, public)  # type: ignore[arg-type]
    assert cp.size == 37
    events = client.get("/maestro/audit?limit=1000").json()
    for index in (0, 1, 17, 36):
        body = client.get(f"/maestro/audit/proofs/inclusion?index={index}&size=37").json()
        assert body["leaf_hash"] == events[index]["leaf_hash"]
        hashes = [bytes.fromhex(h) for h in body["hashes"]]
        merkle.verify_inclusion(index, 37, bytes.fromhex(body["leaf_hash"]), hashes, cp.root)
    old_root = merkle.root([bytes.fromhex(e["leaf_hash"]) for e in events[:20]])
    body = client.get("/maestro/audit/proofs/consistency?from=20&to=37").json()
    assert (body["from"], body["to"], body["from_root_hash"]) == (20, 37, old_root.hex())
    merkle.verify_consistency(20, 37, old_root, cp.root, [bytes.fromhex(h) for h in body["hashes"]])
    as_json = client.get("/maestro/audit/checkpoint", headers={"Accept": "application/json"}).json()
    assert (as_json["size"], as_json["root_hash"], as_json["note"]) == (37, cp.root.hex(), note)
    assert as_json["key_id"] == key["key_id"]


def test_proof_parameters_out_of_range_are_422(client: TestClient, maestro_store: Database) -> None:
    record(maestro_store, "default", 4)
    for url in (
        "/maestro/audit/proofs/inclusion?index=4&size=4",
        "/maestro/audit/proofs/inclusion?index=0&size=5",
        "/maestro/audit/proofs/consistency?from=3&to=2",
        "/maestro/audit/proofs/consistency?from=1&to=9",
        "/maestro/audit/proofs/inclusion?index=-1&size=2",
    ):
        response = client.get(url)
        assert response.status_code == 422, url
        assert response.json()["error"] == "validation_failed"


def test_list_filters_and_pages_through_link_headers(client: TestClient, maestro_store: Database) -> None:
    record(maestro_store, "default", 30, batch=4)
    record(maestro_store, "other", 5)
    denied = client.get("/maestro/audit?action=auth.denied").json()
    assert [e["index"] for e in denied] == list(range(4, 30, 5))
    assert all(e["event"]["object"] is None and e["event"]["status"] == 401 for e in denied)
    runs = client.get("/maestro/audit?object_type=run&object_id=obj-0").json()
    assert runs
    assert all(e["event"]["object"] == {"type": "run", "id": "obj-0"} for e in runs)
    assert len(client.get("/maestro/audit?actor=tok_a").json()) == 24
    assert client.get("/maestro/audit?since=2999-01-01T00:00:00Z").json() == []
    assert len(client.get("/maestro/audit?until=2999-01-01T00:00:00Z").json()) == 30
    seen, url = [], "/maestro/audit?limit=7"
    while url:
        response = client.get(url)
        seen += [e["index"] for e in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == list(range(30))
    assert client.get("/maestro/audit?cursor=bm9wZQ").status_code == 422


def test_keys_survive_rotation_as_retired(tmp_path: Path) -> None:
    first = signing_key.load(tmp_path, None, None)
    assert oct((tmp_path / "keys" / "signing-key.pem").stat().st_mode & 0o777) == "0o600"
    assert signing_key.load(tmp_path, None, None).key_id == first.key_id  # reused, not regenerated
    other = tmp_path / "new.pem"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    other.write_bytes(pem)
    rotated = signing_key.load(tmp_path, other, None)
    assert [k.key_id for k in rotated.published] == [first.key_id, rotated.key_id]
    assert rotated.published[0].retired_at is not None
    assert rotated.published[1].retired_at is None
    old_note = first.sign("default", 0, merkle.empty_root())
    public = load_pem_public_key(rotated.published[0].pem.encode())
    assert checkpoint.verify(old_note, first.origin("default"), public).size == 0  # type: ignore[arg-type]


def test_a_signing_key_that_is_not_ed25519_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(signing_key.SigningKeyError, match="cannot read"):
        signing_key.load(tmp_path, bad, None)


@pytest.mark.only(backend="postgresql")
def test_a_role_without_update_or_delete_still_appends(maestro_store: Database) -> None:
    """The recipe in docs/audit.md, run as written (but for the login and the defaults,
    which outlive the test): the server's queue-then-sequence path works under it."""
    role = f"maestro_append_only_{uuid.uuid4().hex[:8]}"
    with maestro_store.engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} NOLOGIN"))
        for statement in _documented_role_recipe():
            conn.execute(text(statement.replace("maestro_service", role)))
    try:
        with maestro_store.write() as session:
            session.execute(text(f"SET LOCAL ROLE {role}"))
            recorder.append(session, tenant_id="default", events=[draft(0), draft(1)])
        with maestro_store.write() as session:  # the server's path: queue with the change...
            session.execute(text(f"SET LOCAL ROLE {role}"))
            recorder.enqueue(session, tenant_id="default", events=[draft(2)], now=datetime.now(UTC))
        with maestro_store.write() as session:  # ...then the sequencer moves it into the tree
            session.execute(text(f"SET LOCAL ROLE {role}"))
            assert recorder.integrate(session, "default") == 1
        with maestro_store.read() as session:
            assert repository.head(session, "default").size == 3
        for statement in ("UPDATE audit_events SET action = 'run.delete'", "DELETE FROM audit_events"):
            with pytest.raises(ProgrammingError, match="permission denied"):
                _as_role(maestro_store, role, statement)
    finally:
        with maestro_store.engine.begin() as conn:
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
            conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"))
            conn.execute(text(f"REVOKE ALL ON SCHEMA public FROM {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def _documented_role_recipe() -> list[str]:
    """The GRANT and REVOKE statements of docs/audit.md's append-only role."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    block = doc.split("## An append-only database role", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    statements = [line.strip() for line in block.splitlines()]
    chosen = [line.rstrip(";") for line in statements if line.startswith(("GRANT", "REVOKE"))]
    assert any("SEQUENCES" in line for line in chosen)
    assert any("audit_events" in line for line in chosen)
    return chosen


def _as_role(db: Database, role: str, statement: str) -> None:
    with db.write() as session:
        session.execute(text(f"SET LOCAL ROLE {role}"))
        session.execute(text(statement))
