"""INSERTs handed to the driver as they are, for the rows written on every change: the
audit queue's row in each mutation and the events and subtrees each sequencer batch
writes.

The rows are the ones Core would write: the columns' own bind processors convert the
values (``UTCDateTime`` to naive UTC on SQLite, for one), applied once per value. What
is skipped is Core's per-execution work: the compiled-statement cache lookup, the
execution context and the per-row parameter dictionaries of an executemany, which a
profile put at a fifth of the sequencer's CPU and most of the queue INSERT's. Several
rows go to PostgreSQL as one ``COPY``: psycopg formats a row in C, where an executemany
costs about 15 us of Python per row (a sequencer batch writes two rows per event).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

from maestro.db.driver import driver_cursor

_Built = tuple[str, str, list[Callable[[Any], Any] | None]]


class DriverInsert:
    """``INSERT INTO table (columns) VALUES (...)`` with positional rows, one statement text
    and one set of bind processors per dialect, built on first use."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        unknown = [name for name in columns if name not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {unknown[0]!r}")
        self._table = table
        self._columns = tuple(columns)
        self._built: dict[str, _Built] = {}

    def _for(self, dialect: Dialect) -> _Built:
        if dialect.name not in self._built:
            quote = dialect.identifier_preparer
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            names = ", ".join(quote.quote(name) for name in self._columns)
            marks = ", ".join(mark for _ in self._columns)
            table = quote.format_table(self._table)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            copy = f"COPY {table} ({names}) FROM STDIN"
            processors: list[Callable[[Any], Any] | None] = [
                self._table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in self._columns
            ]
            self._built[dialect.name] = (sql, copy, processors)
        return self._built[dialect.name]

    def execute(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (values in the columns' order) on ``conn``, in its transaction."""
        if not rows:
            return
        sql, copy_sql, processors = self._for(conn.dialect)
        params = [
            tuple(
                value if process is None else process(value)
                for value, process in zip(row, processors, strict=True)
            )
            for row in rows
        ]
        with driver_cursor(conn) as cursor:
            if len(params) == 1:
                cursor.execute(sql, params[0])
            elif conn.dialect.name == "postgresql":
                with cursor.copy(copy_sql) as copy:
                    for row in params:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, params)
