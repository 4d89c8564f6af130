"""Audit queue: events committed with their change, waiting for the tenant's sequencer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor_token_id", sa.String(length=64), nullable=True),
        sa.Column("actor_role", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.String(length=256), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("state_sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
    )
    with op.batch_alter_table("audit_pending") as batch:
        batch.create_index("ix_audit_pending_tenant_id_id", ["tenant_id", "id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_pending") as batch:
        batch.drop_index("ix_audit_pending_tenant_id_id")
    op.drop_table("audit_pending")
