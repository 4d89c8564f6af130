"""Recorded gate evaluations and how far the evaluator has read each tenant's audit log.
``maestro.db.tables`` imports this module so that ``Base.metadata`` knows them.

An evaluation is recorded only when its verdict or its input differs from the run's
last recorded one; rows are never updated or deleted. The cursor is the index of the
next audit event the evaluator has not yet looked at: the log is its change feed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from maestro.db.tables import Base, tenant_column
from maestro.db.types import UTCDateTime, json_type


class GateEvaluationRow(Base):
    __tablename__ = "gate_evaluations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"))
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer())
    policy_digest: Mapped[str] = mapped_column(String(80))
    passed: Mapped[bool] = mapped_column(Boolean())
    input_digest: Mapped[str] = mapped_column(String(80))
    facts_digest: Mapped[str] = mapped_column(String(80))
    outcome_digest: Mapped[str] = mapped_column(String(80))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(json_type())
    vsa: Mapped[dict[str, Any]] = mapped_column(json_type())

    __table_args__ = (Index("ix_gate_evaluations_tenant_id_run_id_id", "tenant_id", "run_id", "id"),)


class GateCursorRow(Base):
    __tablename__ = "gate_cursors"

    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"), primary_key=True)
    next_index: Mapped[int] = mapped_column(BigInteger())
