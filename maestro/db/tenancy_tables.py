"""Tenants and API tokens (issue 9). Part of ``maestro.db.tables``' metadata.

A token row keeps only the SHA-256 of the secret (``token_hash``); the secret is
shown once, when the token is created. ``expires_at`` is required: no token lives
forever.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from maestro.db.tables import Base
from maestro.db.types import UTCDateTime

ROLES = ("viewer", "writer", "admin")


class TenantRow(Base):
    """A tenant: every resource row names one. ``default`` exists from the migration on."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiTokenRow(Base):
    """One API token: its tenant, role and lifetime. Revoking sets ``revoked_at``; rows
    are never deleted, so "has any token ever existed" ends local mode for good."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The admin token that created this one; null for `maestro tokens bootstrap`.
    created_by: Mapped[str | None] = mapped_column(String(36), ForeignKey("api_tokens.id"))

    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'writer', 'admin')", name="role"),
        Index("ix_api_tokens_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )
