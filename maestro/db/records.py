"""Typed records from rows, and keyset pagination: shared by every repository.

A repository selects exactly a record's columns, in its field order, and builds the
record positionally: typed results at close to the cost of a bare ``Row``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, Table, tuple_

from maestro.pagination import Order, Page

R = TypeVar("R")


def columns_of(table: Table, record: type[Any]) -> list[ColumnElement[Any]]:
    """The table's columns that make up ``record``, in its field order."""
    return [table.c[field.name] for field in fields(record)]


def values_of(record: Any) -> dict[str, Any]:
    """A record as the column values that insert it (shallow, unlike ``asdict``)."""
    return {field.name: getattr(record, field.name) for field in fields(record)}


def one(record: Callable[..., R], row: Row[Any] | None) -> R | None:
    return None if row is None else record(*row)


def many(record: Callable[..., R], rows: Iterable[Row[Any]]) -> list[R]:
    return [record(*row) for row in rows]


def keyset(stmt: Select[Any], key: ColumnElement[Any], ident: ColumnElement[Any], page: Page) -> Select[Any]:
    """Apply cursor, order and limit (one extra row tells whether a next page exists)."""
    if page.after is not None:
        bound = tuple_(key, ident)
        after = tuple_(page.after.created_at, page.after.id)
        stmt = stmt.where(bound < after if page.order is Order.DESC else bound > after)
    if page.order is Order.DESC:
        stmt = stmt.order_by(key.desc(), ident.desc())
    else:
        stmt = stmt.order_by(key.asc(), ident.asc())
    return stmt.limit(page.limit + 1)
