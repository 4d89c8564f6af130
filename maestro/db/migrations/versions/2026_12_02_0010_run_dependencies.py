"""Run lineage: one row per edge "run depends on run", both ends in one tenant.

The primary key (tenant_id, run_id, depends_on_id) walks upstream, the index
(tenant_id, depends_on_id, run_id) downstream; a run cannot depend on itself.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_DOWNSTREAM = "ix_run_dependencies_tenant_id_depends_on_id_run_id"


def upgrade() -> None:
    op.create_table(
        "run_dependencies",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("depends_on_id", sa.String(length=36), nullable=False),
        sa.CheckConstraint("run_id <> depends_on_id", name=op.f("ck_run_dependencies_not_self")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_run_dependencies_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_dependencies_run_id_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["runs.id"],
            name=op.f("fk_run_dependencies_depends_on_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "run_id", "depends_on_id", name=op.f("pk_run_dependencies")),
    )
    with op.batch_alter_table("run_dependencies") as batch:
        batch.create_index(_DOWNSTREAM, ["tenant_id", "depends_on_id", "run_id"])


def downgrade() -> None:
    with op.batch_alter_table("run_dependencies") as batch:
        batch.drop_index(_DOWNSTREAM)
    op.drop_table("run_dependencies")
