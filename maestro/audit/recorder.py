"""Appending events to a tenant's log inside the caller's unit of work.

``append`` is meant to run at the END of a request's transaction: it locks the
tenant's head row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
database's single writer, queued by ``Database.write``'s process lock, already
serialises it), so two appenders never give out the same index or fork the
tree, and the lock is held only until the caller commits. It flushes and never
commits: the events commit or roll back with the change they describe.
Cost: the events' canonical bytes, O(log n) hashes, one INSERT for the events,
one for the completed subtrees, one UPDATE of the head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from maestro.audit import ranges
from maestro.audit.event import AuditEvent, EventDraft, from_draft
from maestro.audit.merkle import HASH_SIZE, empty_root
from maestro.db.audit_tables import AuditEventRow, AuditHeadRow, AuditNodeRow

_EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]
_HEADS: Table = AuditHeadRow.__table__  # type: ignore[assignment]
_NODES: Table = AuditNodeRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    root: bytes
    frontier: list[bytes]


def append(
    session: Session, *, tenant_id: str, events: Sequence[EventDraft], now: datetime | None = None
) -> list[AuditEvent]:
    """Give ``events`` the next indexes of ``tenant_id``'s tree, in order, and stage them,
    their completed subtrees and the new head in ``session`` (flushed, not committed)."""
    if not events:
        return []
    now = now or datetime.now(UTC)
    session.flush()  # the caller's pending rows first, so the statements below follow them
    head = lock_head(session, tenant_id)
    built = [from_draft(draft, tenant_id, head.size + n, now) for n, draft in enumerate(events)]
    frontier, nodes = ranges.append(head.size, head.frontier, [event.leaf_hash() for event in built])
    # Core statements on the session's connection: the ORM's bulk path cost about 1 ms
    # more per append, for rows no one reads back in this session.
    conn = session.connection()
    conn.execute(insert(_EVENTS), [_row(event) for event in built])
    if nodes:
        rows = [{"tenant_id": tenant_id, "level": lv, "idx": idx, "hash": h} for lv, idx, h in nodes]
        conn.execute(insert(_NODES), rows)
    conn.execute(
        update(_HEADS)
        .where(_HEADS.c.tenant_id == tenant_id)
        .values(size=head.size + len(built), root=ranges.fold(frontier), frontier=b"".join(frontier))
    )
    return built


def lock_head(session: Session, tenant_id: str) -> Head:
    """The tenant's head, row-locked until the caller's transaction ends; created empty
    on the tenant's first event (a concurrent creator waits, then finds it)."""
    head = _select_head(session, tenant_id)
    if head is None:
        dialect = session.get_bind().dialect.name
        maker = pg_insert if dialect == "postgresql" else sqlite_insert
        session.connection().execute(
            maker(_HEADS)
            .values(tenant_id=tenant_id, size=0, root=empty_root(), frontier=b"")
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        head = _select_head(session, tenant_id)
        assert head is not None
    return head


def _select_head(session: Session, tenant_id: str) -> Head | None:
    row = (
        session.connection()
        .execute(
            select(_HEADS.c.size, _HEADS.c.root, _HEADS.c.frontier)
            .where(_HEADS.c.tenant_id == tenant_id)
            .with_for_update()
        )
        .one_or_none()
    )
    if row is None:
        return None
    size, root, packed = row
    frontier = [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]
    return Head(size, root, frontier)


def _row(event: AuditEvent) -> dict[str, object]:
    return {
        "tenant_id": event.tenant_id,
        "idx": event.index,
        "canonical": event.canonical().decode(),
        "leaf_hash": event.leaf_hash(),
        "at": event.at,
        "action": event.action,
        "object_type": None if event.object is None else event.object.type,
        "object_id": None if event.object is None else event.object.id,
        "actor_token_id": event.actor.token_id,
        "request_id": event.request_id,
    }
