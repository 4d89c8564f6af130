"""Audit log: append-only events per tenant, tree heads and stored subtree hashes.

Revision ID: 0008
Revises: 0005 (re-chained onto the latest revision at merge)
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.String(length=256), nullable=True),
        sa.Column("actor_token_id", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "idx", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.create_index(
            "ix_audit_events_tenant_id_object_type_object_id_idx",
            ["tenant_id", "object_type", "object_id", "idx"],
        )
        batch.create_index(
            "ix_audit_events_tenant_id_actor_token_id_idx", ["tenant_id", "actor_token_id", "idx"]
        )
        batch.create_index("ix_audit_events_tenant_id_action_idx", ["tenant_id", "action", "idx"])
        batch.create_index("ix_audit_events_tenant_id_at_idx", ["tenant_id", "at", "idx"])
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_audit_heads")),
    )
    op.create_table(
        "audit_nodes",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "level", "idx", name=op.f("pk_audit_nodes")),
    )


def downgrade() -> None:
    op.drop_table("audit_nodes")
    op.drop_table("audit_heads")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_tenant_id_at_idx")
        batch.drop_index("ix_audit_events_tenant_id_action_idx")
        batch.drop_index("ix_audit_events_tenant_id_actor_token_id_idx")
        batch.drop_index("ix_audit_events_tenant_id_object_type_object_id_idx")
    op.drop_table("audit_events")
