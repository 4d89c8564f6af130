"""A cursor straight on the driver, for the few statements that run on every change or
every request, where Core's execution context (about 30 us a statement on psycopg) is a
visible share of the request.

The cursor works in ``conn``'s transaction, begun first if it has none yet, as Core's
autobegin would (on SQLite that is the engine's ``BEGIN IMMEDIATE``): a driver statement
never runs outside a transaction Core knows of, so ``rollback`` undoes it.

Errors come out as SQLAlchemy's, as from ``Connection.exec_driver_sql``: a lost
connection is invalidated (the pool will not hand it out again) and the error says so,
so it maps to a 503 and the next request gets a fresh connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


@contextmanager
def driver_cursor(conn: Connection) -> Iterator[Any]:
    """A DBAPI cursor on ``conn``'s driver connection, in its transaction; closed after."""
    if not conn.in_transaction():
        conn.begin()
    dbapi_conn = conn.connection
    dialect = conn.dialect
    driver_error: type[Exception] = dialect.loaded_dbapi.Error
    cursor = dbapi_conn.cursor()
    try:
        yield cursor
    except driver_error as exc:
        lost = dialect.is_disconnect(exc, dbapi_conn, cursor)  # type: ignore[arg-type]
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, driver_error, hide_parameters=True, connection_invalidated=lost, dialect=dialect
        ) from exc
    finally:
        cursor.close()
