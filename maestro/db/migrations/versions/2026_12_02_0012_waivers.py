"""Waivers of policy rules, scoped to a run, to runs matching owner/metadata, or to a
component purl; revoked, never deleted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)
INDEXES = {
    "ix_waivers_tenant_id_created_at_id": ["tenant_id", "created_at", "id"],
    "ix_waivers_tenant_id_rule_created_at_id": ["tenant_id", "rule", "created_at", "id"],
    "ix_waivers_tenant_id_run_id_expires_at": ["tenant_id", "run_id", "expires_at"],
    "ix_waivers_tenant_id_scope_expires_at": ["tenant_id", "scope", "expires_at"],
}


def upgrade() -> None:
    op.create_table(
        "waivers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "tenant_id",
            sa.String(length=64),
            sa.ForeignKey("tenants.id", name="fk_waivers_tenant_id_tenants"),
            server_default=sa.text("'default'"),
            nullable=False,
        ),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("match_metadata", JSON_TYPE, nullable=True),
        sa.Column("purl", sa.String(length=1024), nullable=True),
        sa.Column("purl_base", sa.String(length=1024), nullable=True),
        sa.Column("purl_version", sa.String(length=256), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("scope IN ('run', 'match', 'purl')", name="ck_waivers_scope"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_waivers_run_id_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_waivers"),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "waivers", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="waivers")
    op.drop_table("waivers")
