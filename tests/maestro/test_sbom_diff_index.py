"""sbom-diff reads each run in the order of ``ix_components_run_id_diff_key``: the key is
written at ingest (and backfilled by migration 0006), and PostgreSQL streams it from
the index without sorting (a sort of a million rows per request cost ~12 s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from maestro.db import migrate
from maestro.db.engine import Database
from maestro.storage import evidence as evidence_store
from maestro.storage import evidence_views
from tests.maestro.test_sbom_diff import Component, _seed

ROWS: list[Component] = [
    ("pkg:pypi/a", "a", "1.0"),
    (None, "b", "2.0"),
    (None, "é", None),
    ("pkg:npm/%40x/y", "y", ""),
]


def _diff_keys(db: Database, run_id: str) -> list[str]:
    c = evidence_store.components_t.c
    with db.engine.connect() as conn:
        return list(conn.execute(select(c.diff_key).where(c.run_id == run_id).order_by(c.diff_key)).scalars())


def test_ingest_writes_the_diff_key(
    maestro_store: Database, make_run: Callable[..., Any], make_artifact: Callable[..., Any]
) -> None:
    run_id = make_run()["id"]
    _seed(maestro_store, run_id, make_artifact(run_id)["id"], ROWS)
    assert _diff_keys(maestro_store, run_id) == ["name:b", "name:é", "pkg:npm/%40x/y", "pkg:pypi/a"]


def test_migration_backfills_the_diff_key(
    client: TestClient,
    maestro_store: Database,
    make_run: Callable[..., Any],
    make_artifact: Callable[..., Any],
) -> None:

    runs = []
    for rows in (ROWS, [*ROWS[1:], ("pkg:pypi/a", "a", "2.0")]):
        run_id = make_run()["id"]
        _seed(maestro_store, run_id, make_artifact(run_id)["id"], rows)
        runs.append(run_id)
    before = client.get(f"/maestro/runs/{runs[0]}/sbom-diff/{runs[1]}").json()
    client.app.state.gate_follower.stop()  # type: ignore[attr-defined]  # nothing may write while
    client.app.state.audit_sequencer.stop()  # type: ignore[attr-defined]  # the schema changes
    migrate.downgrade(maestro_store.engine, "0005")
    with maestro_store.engine.connect() as conn:
        columns = conn.execute(text("SELECT * FROM components")).keys()
        assert "diff_key" not in columns
    migrate.upgrade(maestro_store.engine)
    assert _diff_keys(maestro_store, runs[0]) == ["name:b", "name:é", "pkg:npm/%40x/y", "pkg:pypi/a"]
    assert client.get(f"/maestro/runs/{runs[0]}/sbom-diff/{runs[1]}").json() == before
    assert before["changed"] == [
        {"key": "pkg:pypi/a", "name": "a", "from_versions": ["1.0"], "to_versions": ["2.0"]}
    ]


def _plan(db: Database, run_id: str, artifact_id: str) -> str:
    """The plan PostgreSQL picks for the diff query run as the server-side cursor it is."""
    stmt = evidence_views.run_diff_query(run_id, [artifact_id])
    sql = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE components"))
        rows = conn.execute(text(f"EXPLAIN DECLARE diff_plan CURSOR FOR {sql}")).scalars()
        return "\n".join(rows)


@pytest.mark.only(backend="postgresql")
def test_postgres_reads_a_run_in_index_order_without_sorting(
    maestro_store: Database, make_run: Callable[..., Any], make_artifact: Callable[..., Any]
) -> None:
    ids = []
    for side in range(2):
        run_id = make_run()["id"]
        artifact_id = make_artifact(run_id)["id"]
        rows: list[Component] = [(f"pkg:npm/p{side}-{i}", f"p{i}", "1.0") for i in range(2000)]
        _seed(maestro_store, run_id, artifact_id, rows)
        ids.append((run_id, artifact_id))
    plan = _plan(maestro_store, *ids[0])
    assert "ix_components_run_id_diff_key" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.only(backend="sqlite")
def test_sqlite_reads_a_run_in_index_order_without_sorting(maestro_store: Database) -> None:
    stmt = evidence_views.run_diff_query("run", ["artifact"])
    sql = stmt.compile(dialect=maestro_store.engine.dialect, compile_kwargs={"literal_binds": True})
    with maestro_store.engine.connect() as conn:
        plan = " ".join(row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "USING INDEX ix_components_run_id_diff_key" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
