"""``DriverInsert`` writes the rows Core would: the same values read back on both
databases (times in another zone stored as UTC, NULLs, integers, bytes), one row or
many, and a column the table lacks is refused when the statement is declared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from maestro.db.audit_tables import AuditNodeRow, AuditPendingRow
from maestro.db.driver_insert import DriverInsert
from maestro.db.engine import Database

PENDING: Table = AuditPendingRow.__table__  # type: ignore[assignment]
NODES: Table = AuditNodeRow.__table__  # type: ignore[assignment]
COLUMNS = ("tenant_id", "at", "action", "actor_token_id", "actor_role", "object_type", "object_id",
           "request_id", "state_sha256", "status")  # fmt: skip
ROWS = [
    ("default", datetime(2026, 12, 3, 14, 5, 6, 789012, tzinfo=timezone(timedelta(hours=5))), "run.created",
     None, "admin", "run", "r-1", "req-1", "ab" * 32, None),
    ("t2", datetime(2026, 1, 1, tzinfo=UTC), "auth.denied", "tok", "none", None, None, None, None, 401),
]  # fmt: skip


def _read(db: Database, tenants: tuple[str, ...]) -> list[tuple[object, ...]]:
    columns = [PENDING.c[name] for name in COLUMNS]
    with db.read() as session:
        rows = session.execute(
            select(*columns).where(PENDING.c.tenant_id.in_(tenants)).order_by(PENDING.c.id)
        )
        return [tuple(row) for row in rows]


def test_the_rows_read_back_as_cores_do(maestro_store: Database) -> None:
    with maestro_store.write() as session:
        session.connection().execute(insert(PENDING), [dict(zip(COLUMNS, row, strict=True)) for row in ROWS])
    by_core = _read(maestro_store, ("default", "t2"))
    with maestro_store.write() as session:
        session.execute(delete(PENDING))
    with maestro_store.write() as session:
        DriverInsert(PENDING, COLUMNS).execute(session.connection(), ROWS)
    by_driver = _read(maestro_store, ("default", "t2"))
    assert by_driver == by_core
    assert by_driver[0][1] == datetime(2026, 12, 3, 9, 5, 6, 789012, tzinfo=UTC)  # stored as UTC
    assert by_driver[1][9] == 401
    assert by_driver[0][3] is None


def test_one_row_and_bytes(maestro_store: Database) -> None:
    with maestro_store.write() as session:
        DriverInsert(NODES, ("tenant_id", "level", "idx", "hash")).execute(
            session.connection(), [("default", 3, 7, b"\x00\xff" * 16)]
        )
        DriverInsert(NODES, ("tenant_id", "level", "idx", "hash")).execute(session.connection(), [])
    with maestro_store.read() as session:
        assert session.execute(select(NODES.c.level, NODES.c.idx, NODES.c.hash)).all() == [
            (3, 7, b"\x00\xff" * 16)
        ]


def test_many_rows_of_bytes_every_byte_value(maestro_store: Database) -> None:
    """Several rows go to PostgreSQL as one COPY: bytes that COPY's text format escapes
    (backslash, tab, newline, NUL) come back unchanged."""
    hashes = [bytes(range(n, n + 32)) for n in range(0, 256, 32)]
    with maestro_store.write() as session:
        DriverInsert(NODES, ("tenant_id", "level", "idx", "hash")).execute(
            session.connection(), [("t\\ab\tc", 0, n, h) for n, h in enumerate(hashes)]
        )
    with maestro_store.read() as session:
        rows = session.execute(select(NODES.c.tenant_id, NODES.c.hash).order_by(NODES.c.idx)).all()
    assert rows == [("t\\ab\tc", h) for h in hashes]


def test_a_column_the_table_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="audit_pending has no column 'nope'"):
        DriverInsert(PENDING, ("tenant_id", "nope"))


@pytest.mark.parametrize("rows", [1, 3], ids=["one row", "many rows"])
def test_a_refused_row_is_sqlalchemys_integrity_error_and_the_connection_stays(
    maestro_store: Database, rows: int
) -> None:
    """A statement the database refuses (a duplicate key, not a lost connection) comes out as
    SQLAlchemy's IntegrityError, as Core's would, and does not invalidate the connection."""
    insert_nodes = DriverInsert(NODES, ("tenant_id", "level", "idx", "hash"))
    with maestro_store.write() as session:
        insert_nodes.execute(session.connection(), [("default", 0, 0, b"\x01" * 32)])
    with maestro_store.engine.connect() as conn:
        duplicate = [("default", 0, n, b"\x02" * 32) for n in range(rows)]  # idx 0 is taken
        with pytest.raises(IntegrityError):
            insert_nodes.execute(conn, duplicate)
        assert not conn.invalidated
        conn.rollback()
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_nodes").scalar_one() == 1
