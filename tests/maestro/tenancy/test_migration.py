"""Migration 0007 keeps every row, gives it tenant ``default``, and goes back down intact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from maestro.db import migrate
from maestro.db.engine import Database

TABLES = ("runs", "run_links", "artifacts", "disclosure_packs", "disclosure_pack_artifacts")


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}


def test_rows_survive_down_and_up_and_belong_to_default(
    client: TestClient, make_run: Callable[..., dict[str, Any]], make_artifact: Callable[..., dict[str, Any]],
    maestro_store: Database,
) -> None:  # fmt: skip
    run = make_run()
    artifact = make_artifact(run["id"], "sbom")
    pack = client.post("/maestro/disclosure-packs", json={"run_id": run["id"], "summary": "s"})
    assert pack.status_code == 201, pack.text
    before = _counts(maestro_store)
    assert all(before.values()), before
    client.app.state.audit_sequencer.stop()  # nothing may write while the schema changes underneath
    client.app.state.gate_follower.stop()
    migrate.downgrade(maestro_store.engine, "0005")
    assert _counts(maestro_store) == before
    migrate.upgrade(maestro_store.engine)
    assert _counts(maestro_store) == before
    with maestro_store.engine.connect() as conn:
        for table in ("runs", "artifacts", "disclosure_packs", "run_links"):
            tenants = conn.execute(text(f"SELECT DISTINCT tenant_id FROM {table}")).scalars().all()
            assert tenants == ["default"], table
        assert conn.execute(text("SELECT id FROM tenants")).scalars().all() == ["default"]
    assert client.get(f"/maestro/artifacts/{artifact['id']}").json() == artifact


def test_idempotency_keys_are_unique_per_tenant(maestro_store: Database) -> None:
    insert = text(
        "INSERT INTO idempotency_keys (tenant_id, scope, key, request_sha256, created_at) "
        "VALUES (:t, 'POST /maestro/runs', 'k', 'x', CURRENT_TIMESTAMP)"
    )
    with maestro_store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', CURRENT_TIMESTAMP)")
        )
        conn.execute(insert, {"t": "default"})
        conn.execute(insert, {"t": "acme"})
        count = conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one()
    assert count == 2
