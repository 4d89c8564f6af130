"""Recorded gate evaluations, and the evaluator's cursor into each tenant's audit log.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gate_evaluations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "tenant_id",
            sa.String(length=64),
            sa.ForeignKey("tenants.id", name="fk_gate_evaluations_tenant_id_tenants"),
            server_default=sa.text("'default'"),
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("policy_digest", sa.String(length=80), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("input_digest", sa.String(length=80), nullable=False),
        sa.Column("facts_digest", sa.String(length=80), nullable=False),
        sa.Column("outcome_digest", sa.String(length=80), nullable=False),
        sa.Column("evaluated_at", UTC_DATETIME, nullable=False),
        sa.Column("trigger", sa.String(length=64), nullable=False),
        sa.Column("result", JSON_TYPE, nullable=False),
        sa.Column("vsa", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_gate_evaluations_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gate_evaluations"),
    )
    op.create_index(
        "ix_gate_evaluations_tenant_id_run_id_id", "gate_evaluations", ["tenant_id", "run_id", "id"]
    )
    op.create_table(
        "gate_cursors",
        sa.Column(
            "tenant_id",
            sa.String(length=64),
            sa.ForeignKey("tenants.id", name="fk_gate_cursors_tenant_id_tenants"),
            nullable=False,
        ),
        sa.Column("next_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_gate_cursors"),
    )


def downgrade() -> None:
    op.drop_table("gate_cursors")
    op.drop_index("ix_gate_evaluations_tenant_id_run_id_id", table_name="gate_evaluations")
    op.drop_table("gate_evaluations")
