"""Waivers: an admin's word that one rule's failure does not block some runs until an
expiry. ``maestro.db.tables`` imports this module so that ``Base.metadata`` knows it.

A waiver is never deleted or rewritten, apart from ``revoked_at``/``revoked_by`` being
set once; its scope is one of ``run`` (``run_id``), ``match`` (``owner`` and/or
``match_metadata``) or ``purl`` (``purl_base`` and an optional ``purl_version``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from maestro.db.tables import Base, tenant_column
from maestro.db.types import UTCDateTime, json_type

WAIVER_SCOPES = ("run", "match", "purl")


class WaiverRow(Base):
    __tablename__ = "waivers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    rule: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"))
    owner: Mapped[str | None] = mapped_column(String(320))
    match_metadata: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    purl: Mapped[str | None] = mapped_column(String(1024))
    purl_base: Mapped[str | None] = mapped_column(String(1024))
    purl_version: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("scope IN ('run', 'match', 'purl')", name="scope"),
        # The list, and the list filtered by rule (keyset on created_at, id).
        Index("ix_waivers_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index("ix_waivers_tenant_id_rule_created_at_id", "tenant_id", "rule", "created_at", "id"),
        # The gate: a run's own waivers, and the tenant's match and purl waivers, unexpired.
        Index("ix_waivers_tenant_id_run_id_expires_at", "tenant_id", "run_id", "expires_at"),
        Index("ix_waivers_tenant_id_scope_expires_at", "tenant_id", "scope", "expires_at"),
    )
