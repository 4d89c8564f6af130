"""Reading a tenant's audit log: events by filter, the tree head, and proofs.

Proofs are built from stored subtree hashes (``audit_nodes``, leaves from
``audit_events``): each subtree root a proof names is the fold of the O(log n)
stored subtrees that tile it (``maestro.audit.ranges``), fetched in one query
per table, so a proof never reads the tenant's leaves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.orm import Session

from maestro.audit import ranges
from maestro.audit.merkle import empty_root
from maestro.db.audit_tables import AuditEventRow, AuditHeadRow, AuditNodeRow
from maestro.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class AuditFilter:
    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    index: int
    leaf_hash: bytes
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    root: bytes


def head(session: Session, tenant_id: str) -> TreeHead:
    """The committed head; size 0 (the empty tree's root) before the tenant's first event."""
    row = session.execute(
        select(AuditHeadRow.size, AuditHeadRow.root).where(AuditHeadRow.tenant_id == tenant_id)
    ).one_or_none()
    return TreeHead(0, empty_root()) if row is None else TreeHead(row[0], row[1])


def _conditions(tenant_id: str, where: AuditFilter) -> list[ColumnElement[bool]]:
    table = AuditEventRow
    conditions = [table.tenant_id == tenant_id]
    pairs: list[tuple[Any, Any]] = [
        (table.object_type, where.object_type),
        (table.object_id, where.object_id),
        (table.actor_token_id, where.actor),
        (table.action, where.action),
    ]
    conditions += [column == value for column, value in pairs if value is not None]
    if where.since is not None:
        conditions.append(table.at >= where.since)
    if where.until is not None:
        conditions.append(table.at < where.until)
    return conditions


def list_events(
    session: Session, tenant_id: str, where: AuditFilter, limit: int, after: int | None
) -> tuple[list[StoredEvent], int | None]:
    """Up to ``limit`` events in index order after index ``after``, and the index to
    continue after when more match (keyset on the primary key or a filter's index)."""
    conditions = _conditions(tenant_id, where)
    if after is not None:
        conditions.append(AuditEventRow.idx > after)
    rows = session.execute(
        select(AuditEventRow.idx, AuditEventRow.leaf_hash, AuditEventRow.canonical)
        .where(*conditions)
        .order_by(AuditEventRow.idx)
        .limit(limit + 1)
    ).all()
    items = [StoredEvent(idx, leaf, orjson.loads(text)) for idx, leaf, text in rows[:limit]]
    return items, items[-1].index if len(rows) > limit else None


def _hashes(session: Session, tenant_id: str, nodes: Iterable[ranges.Node]) -> dict[ranges.Node, bytes]:
    wanted = set(nodes)
    leaves = [idx for level, idx in wanted if level == 0]
    inner = [(level, idx) for level, idx in wanted if level > 0]
    found: dict[ranges.Node, bytes] = {}
    if leaves:
        leaf_rows = session.execute(
            select(AuditEventRow.idx, AuditEventRow.leaf_hash).where(
                AuditEventRow.tenant_id == tenant_id, AuditEventRow.idx.in_(leaves)
            )
        )
        found.update({(0, idx): value for idx, value in leaf_rows})
    if inner:
        node_rows = session.execute(
            select(AuditNodeRow.level, AuditNodeRow.idx, AuditNodeRow.hash).where(
                AuditNodeRow.tenant_id == tenant_id,
                tuple_(AuditNodeRow.level, AuditNodeRow.idx).in_(inner),
            )
        )
        found.update({(level, idx): value for level, idx, value in node_rows})
    missing = wanted - set(found)
    if missing:  # a stored tree with holes is corruption, never a client error
        raise RuntimeError(f"audit tree of tenant {tenant_id!r} lacks subtrees {sorted(missing)[:5]}")
    return found


def _range_roots(session: Session, tenant_id: str, spans: list[ranges.Range]) -> list[bytes]:
    covers = [ranges.cover(start, end) for start, end in spans]
    found = _hashes(session, tenant_id, (node for nodes in covers for node in nodes))
    return [ranges.fold([found[node] for node in nodes]) for nodes in covers]


def _check_size(session: Session, tenant_id: str, name: str, size: int) -> None:
    current = head(session, tenant_id).size
    if size > current:
        raise ValidationFailed.for_field(name, f"is larger than the tree ({current} events)")


def root_at(session: Session, tenant_id: str, size: int) -> bytes:
    """The root of the tree's first ``size`` events (any size up to the head's)."""
    _check_size(session, tenant_id, "size", size)
    return _range_roots(session, tenant_id, [(0, size)])[0] if size else empty_root()


def inclusion_proof(session: Session, tenant_id: str, index: int, size: int) -> list[bytes]:
    _check_size(session, tenant_id, "size", size)
    if not 0 <= index < size:
        raise ValidationFailed.for_field("index", f"must be below size ({size})")
    return _range_roots(session, tenant_id, ranges.inclusion_ranges(index, size))


def consistency_proof(session: Session, tenant_id: str, old_size: int, size: int) -> list[bytes]:
    _check_size(session, tenant_id, "to", size)
    if not 0 <= old_size <= size:
        raise ValidationFailed.for_field("from", f"must be at most to ({size})")
    return _range_roots(session, tenant_id, ranges.consistency_ranges(old_size, size))


def leaf_hash(session: Session, tenant_id: str, index: int) -> bytes:
    return _hashes(session, tenant_id, [(0, index)])[(0, index)]


def events_about(
    session: Session, tenant_id: str, objects: Iterable[tuple[str, str]], below: int
) -> list[StoredEvent]:
    """The tenant's events about any of ``objects`` (type, id) with index below ``below``,
    in log order; one index range per object (``tenant_id, object_type, object_id, idx``)."""
    wanted = sorted(set(objects))
    found: list[StoredEvent] = []
    for start in range(0, len(wanted), 200):
        rows = session.execute(
            select(AuditEventRow.idx, AuditEventRow.leaf_hash, AuditEventRow.canonical).where(
                AuditEventRow.tenant_id == tenant_id,
                tuple_(AuditEventRow.object_type, AuditEventRow.object_id).in_(wanted[start : start + 200]),
                AuditEventRow.idx < below,
            )
        ).all()
        found += [StoredEvent(idx, leaf, orjson.loads(text)) for idx, leaf, text in rows]
    return sorted(found, key=lambda e: e.index)
