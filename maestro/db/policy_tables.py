"""Policies, their immutable versions, and which runs each applies to.
``maestro.db.tables`` imports this module so that ``Base.metadata`` knows them.

A policy is a name within a tenant; each change adds a ``policy_versions`` row and
never rewrites one. An assignment says which policy (a pinned version, or the newest)
judges which runs: the tenant's default, one owner's, or runs whose metadata matches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maestro.db.tables import Base, tenant_column
from maestro.db.types import UTCDateTime, json_type

ASSIGNMENT_SCOPES = ("tenant", "owner", "metadata")


class PolicyRow(Base):
    __tablename__ = "policies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_policies_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )


class PolicyVersionRow(Base):
    __tablename__ = "policy_versions"

    policy_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    builtin: Mapped[str | None] = mapped_column(String(64))
    module: Mapped[str | None] = mapped_column(Text())
    default_severity: Mapped[str | None] = mapped_column(String(16))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(json_type())
    digest: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("kind IN ('builtin', 'rego')", name="kind"),)


class PolicyAssignmentRow(Base):
    """``target`` makes each assignment unique within its scope: empty for the tenant's
    default, the owner, or the canonical JSON of the metadata match."""

    __tablename__ = "policy_assignments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    scope: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    owner: Mapped[str | None] = mapped_column(String(320))
    match: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    policy_id: Mapped[str] = mapped_column(String(36), ForeignKey("policies.id", ondelete="CASCADE"))
    policy_version: Mapped[int | None] = mapped_column(Integer())
    default_severity: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("scope IN ('tenant', 'owner', 'metadata')", name="scope"),
        UniqueConstraint("tenant_id", "scope", "target"),
        Index("ix_policy_assignments_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index("ix_policy_assignments_policy_id", "policy_id"),
    )
