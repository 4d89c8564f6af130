"""Queries for trusted keys. Functions take the caller's scope, see only its tenant's
keys (two tenants may trust the same key) and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, delete, insert, select

from maestro.db.records import columns_of, many, one, values_of
from maestro.db.tables import TrustedKeyRow
from maestro.platform.scope import Scope

keys_t = cast(Table, TrustedKeyRow.__table__)


@dataclass(frozen=True, slots=True)
class TrustedKeyRecord:
    id: str
    name: str
    key_id: str
    algorithm: str
    pem: str
    created_at: datetime


_KEY = columns_of(keys_t, TrustedKeyRecord)


def _mine(scope: Scope) -> ColumnElement[bool]:
    return keys_t.c.tenant_id == scope.tenant_id


def insert_key(scope: Scope, record: TrustedKeyRecord) -> None:
    scope.session.execute(insert(keys_t), [values_of(record) | {"tenant_id": scope.tenant_id}])


def key_conflict(scope: Scope, name: str, key_id: str) -> str | None:
    """Which unique field an insert would collide on, if any."""
    same = (keys_t.c.name == name) | (keys_t.c.key_id == key_id)
    row = scope.session.execute(select(keys_t.c.name, keys_t.c.key_id).where(_mine(scope), same)).first()
    if row is None:
        return None
    return "name" if row.name == name else "pem"


def list_keys(scope: Scope) -> list[TrustedKeyRecord]:
    stmt = select(*_KEY).where(_mine(scope)).order_by(keys_t.c.created_at, keys_t.c.id)
    return many(TrustedKeyRecord, scope.session.execute(stmt))


def get_key(scope: Scope, key_id: str) -> TrustedKeyRecord | None:
    stmt = select(*_KEY).where(_mine(scope), keys_t.c.id == key_id)
    return one(TrustedKeyRecord, scope.session.execute(stmt).first())


def delete_key(scope: Scope, key_id: str) -> bool:
    result = scope.session.execute(delete(keys_t).where(_mine(scope), keys_t.c.id == key_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
