"""Getting events into a tenant's log: queued with their change, then sequenced.

A mutation's unit of work calls ``enqueue``: one INSERT into ``audit_pending`` (at
the driver, ``maestro.db.driver_insert``: it runs on every change), in the
mutation's own transaction, so the event commits or rolls back with the
change it describes - and takes no lock, so writers of one tenant never queue
behind each other for the log.

``integrate`` (the sequencer's step, ``maestro.audit.sequencer``) moves a
tenant's committed pending events into its tree in one transaction: it locks the
tenant's head row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the
database's single writer, queued by ``Database.write``'s process lock, already
serialises it), so two sequencers - other replicas' - never give out the same
index or fork the tree, gives the events the next indexes in queue order,
inserts them and their completed subtrees, rewrites the head and deletes the
queue rows it took. A crash at any point leaves either the queue rows or the
events, never both and never neither.

``append`` is the same step for events in hand (no queue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from maestro.audit import ranges
from maestro.audit.event import Actor, AuditEvent, EventDraft, ObjectRef, check_draft, from_draft
from maestro.audit.merkle import HASH_SIZE, empty_root
from maestro.db.audit_tables import AuditEventRow, AuditHeadRow, AuditNodeRow, AuditPendingRow
from maestro.db.driver_insert import DriverInsert

_EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]
_HEADS: Table = AuditHeadRow.__table__  # type: ignore[assignment]
_NODES: Table = AuditNodeRow.__table__  # type: ignore[assignment]
_PENDING: Table = AuditPendingRow.__table__  # type: ignore[assignment]
# Built once: a statement built per call costs more to construct and key than to run.
_QUEUED = (
    "tenant_id", "at", "action", "actor_token_id", "actor_role", "object_type", "object_id",
    "request_id", "state_sha256", "status",
)  # fmt: skip
_ENQUEUE = DriverInsert(_PENDING, _QUEUED)
_INSERT_EVENTS = DriverInsert(
    _EVENTS,
    ("tenant_id", "idx", "canonical", "leaf_hash", "at", "action", "object_type", "object_id",
     "actor_token_id", "request_id"),
)  # fmt: skip
_INSERT_NODES = DriverInsert(_NODES, ("tenant_id", "level", "idx", "hash"))
_PENDING_TENANTS = select(_PENDING.c.tenant_id).distinct()
_OLDEST = (
    select(_PENDING.c.id)
    .where(_PENDING.c.tenant_id == bindparam("tenant_id"))
    .order_by(_PENDING.c.id)
    .limit(bindparam("limit"))
)
# Taken and removed in one statement; RETURNING gives no order, so the caller sorts by id.
_TAKE = (
    delete(_PENDING)
    .where(_PENDING.c.id.in_(_OLDEST.scalar_subquery()))
    .returning(
        _PENDING.c.id,
        _PENDING.c.at,
        _PENDING.c.action,
        _PENDING.c.actor_token_id,
        _PENDING.c.actor_role,
        _PENDING.c.object_type,
        _PENDING.c.object_id,
        _PENDING.c.request_id,
        _PENDING.c.state_sha256,
        _PENDING.c.status,
    )
)
_ANY_PENDING = select(_PENDING.c.id).where(_PENDING.c.tenant_id == bindparam("tenant_id")).limit(1)
BATCH = 1000  # events one integrate moves: bounds its transaction and memory


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    root: bytes
    frontier: list[bytes]


def enqueue(session: Session, *, tenant_id: str, events: Sequence[EventDraft], now: datetime) -> None:
    """Queue ``events`` in the caller's transaction (flushed, not committed): they reach
    the tree when the tenant's sequencer next runs, stamped with ``now`` unless they
    carry their own time."""
    if not events:
        return
    for draft in events:
        check_draft(draft)
    session.flush()  # the caller's pending rows first
    rows = [
        (
            tenant_id,
            draft.at or now,
            draft.action,
            draft.actor.token_id,
            draft.actor.role,
            None if draft.object is None else draft.object.type,
            None if draft.object is None else draft.object.id,
            draft.request_id,
            draft.state_sha256,
            draft.status,
        )
        for draft in events
    ]
    _ENQUEUE.execute(session.connection(), rows)


def pending_tenants(conn: Connection) -> list[str]:
    """The tenants with queued events."""
    return list(conn.execute(_PENDING_TENANTS).scalars())


def has_pending(conn: Connection, tenant_id: str) -> bool:
    return conn.execute(_ANY_PENDING, {"tenant_id": tenant_id}).first() is not None


def integrate(session: Session, tenant_id: str, *, limit: int = BATCH) -> int:
    """Move up to ``limit`` of the tenant's committed queued events into its tree, in
    queue order, in the caller's transaction; how many moved. The head lock comes
    first, so a concurrent integrate of the same tenant waits and then finds only
    what this one left (the queue rows it took are gone once it commits)."""
    head = lock_head(session, tenant_id)
    conn = session.connection()
    rows = sorted(conn.execute(_TAKE, {"tenant_id": tenant_id, "limit": limit}).all(), key=lambda r: r.id)
    if not rows:
        return 0
    drafts = [
        EventDraft(
            action=row.action,
            actor=Actor(token_id=row.actor_token_id, role=row.actor_role),
            object=None if row.object_type is None else ObjectRef(row.object_type, row.object_id),
            request_id=row.request_id,
            state_sha256=row.state_sha256,
            status=row.status,
            at=row.at,
        )
        for row in rows
    ]
    _append_at(session, tenant_id, head, drafts, datetime.now(UTC))  # every draft has its time
    return len(rows)


def append(
    session: Session, *, tenant_id: str, events: Sequence[EventDraft], now: datetime | None = None
) -> list[AuditEvent]:
    """Give ``events`` the next indexes of ``tenant_id``'s tree, in order, and stage them,
    their completed subtrees and the new head in ``session`` (flushed, not committed)."""
    if not events:
        return []
    session.flush()  # the caller's pending rows first, so the statements below follow them
    head = lock_head(session, tenant_id)
    return _append_at(session, tenant_id, head, events, now or datetime.now(UTC))


def _append_at(
    session: Session, tenant_id: str, head: Head, events: Sequence[EventDraft], now: datetime
) -> list[AuditEvent]:
    built = [from_draft(draft, tenant_id, head.size + n, now) for n, draft in enumerate(events)]
    frontier, nodes = ranges.append(head.size, head.frontier, [event.leaf_hash() for event in built])
    # Driver statements on the session's connection: the ORM's bulk path cost about 1 ms
    # more per append, for rows no one reads back in this session.
    conn = session.connection()
    _INSERT_EVENTS.execute(conn, [_row(event) for event in built])
    _INSERT_NODES.execute(conn, [(tenant_id, lv, idx, h) for lv, idx, h in nodes])
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


def _row(event: AuditEvent) -> tuple[object, ...]:
    return (
        event.tenant_id,
        event.index,
        event.canonical().decode(),
        event.leaf_hash(),
        event.at,
        event.action,
        None if event.object is None else event.object.type,
        None if event.object is None else event.object.id,
        event.actor.token_id,
        event.request_id,
    )
