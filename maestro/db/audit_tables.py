"""The audit log's tables. ``maestro.db.tables`` imports this module so that
``Base.metadata`` (and so Alembic's autogenerate check) knows them.

``audit_events`` is append-only: the application only INSERTs into it, and on
PostgreSQL the service's role can be denied UPDATE and DELETE (docs/audit.md).
``audit_heads`` is the one row per tenant that appends lock and rewrite;
``audit_nodes`` holds every complete interior subtree so proofs are O(log n)
lookups (leaves, level 0, are ``audit_events.leaf_hash``).
``audit_pending`` is the unsequenced queue: a mutation's transaction inserts its
event there (no lock, no position yet) and the tenant's sequencer moves it into
``audit_events`` (``maestro.audit.sequencer``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maestro.db.tables import Base
from maestro.db.types import UTCDateTime


class AuditEventRow(Base):
    __tablename__ = "audit_events"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    canonical: Mapped[str] = mapped_column(Text())  # RFC 8785 bytes, UTF-8
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(256))
    actor_token_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        Index(
            "ix_audit_events_tenant_id_object_type_object_id_idx",
            "tenant_id",
            "object_type",
            "object_id",
            "idx",
        ),
        Index("ix_audit_events_tenant_id_actor_token_id_idx", "tenant_id", "actor_token_id", "idx"),
        Index("ix_audit_events_tenant_id_action_idx", "tenant_id", "action", "idx"),
        Index("ix_audit_events_tenant_id_at_idx", "tenant_id", "at", "idx"),
    )


class AuditHeadRow(Base):
    """A tenant's tree head: its size, root and compact range (``frontier``: the
    32-byte hashes of the subtrees for each set bit of ``size``, largest first)."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger())
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    frontier: Mapped[bytes] = mapped_column(LargeBinary())


class AuditNodeRow(Base):
    """The hash of the complete subtree over leaves [idx * 2**level, (idx + 1) * 2**level)."""

    __tablename__ = "audit_nodes"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditPendingRow(Base):
    """An event committed with its change but not yet given a position in the tree."""

    __tablename__ = "audit_pending"

    # SQLite autoincrements only an INTEGER PRIMARY KEY (the rowid).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(64))
    actor_token_id: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(128))
    state_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer())

    __table_args__ = (Index("ix_audit_pending_tenant_id_id", "tenant_id", "id"),)
