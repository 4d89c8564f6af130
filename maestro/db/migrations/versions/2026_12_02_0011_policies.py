"""Release policies: policies, their immutable versions, and policy assignments.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)


def _tenant_for(table: str) -> sa.Column[str]:
    return sa.Column(
        "tenant_id",
        sa.String(length=64),
        sa.ForeignKey("tenants.id", name=f"fk_{table}_tenant_id_tenants"),
        server_default=sa.text("'default'"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        _tenant_for("policies"),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policies"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_policies_tenant_id_name"),
    )
    op.create_index("ix_policies_tenant_id_created_at_id", "policies", ["tenant_id", "created_at", "id"])
    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("builtin", sa.String(length=64), nullable=True),
        sa.Column("module", sa.Text(), nullable=True),
        sa.Column("default_severity", sa.String(length=16), nullable=True),
        sa.Column("rules", JSON_TYPE, nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("kind IN ('builtin', 'rego')", name="ck_policy_versions_kind"),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name="fk_policy_versions_policy_id_policies", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("policy_id", "version", name="pk_policy_versions"),
    )
    op.create_table(
        "policy_assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        _tenant_for("policy_assignments"),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("match", JSON_TYPE, nullable=True),
        sa.Column("policy_id", sa.String(length=36), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("default_severity", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("scope IN ('tenant', 'owner', 'metadata')", name="ck_policy_assignments_scope"),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["policies.id"],
            name="fk_policy_assignments_policy_id_policies",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_policy_assignments"),
        sa.UniqueConstraint(
            "tenant_id", "scope", "target", name="uq_policy_assignments_tenant_id_scope_target"
        ),
    )
    op.create_index(
        "ix_policy_assignments_tenant_id_created_at_id",
        "policy_assignments",
        ["tenant_id", "created_at", "id"],
    )
    op.create_index("ix_policy_assignments_policy_id", "policy_assignments", ["policy_id"])


def downgrade() -> None:
    op.drop_index("ix_policy_assignments_policy_id", table_name="policy_assignments")
    op.drop_index("ix_policy_assignments_tenant_id_created_at_id", table_name="policy_assignments")
    op.drop_table("policy_assignments")
    op.drop_table("policy_versions")
    op.drop_index("ix_policies_tenant_id_created_at_id", table_name="policies")
    op.drop_table("policies")
