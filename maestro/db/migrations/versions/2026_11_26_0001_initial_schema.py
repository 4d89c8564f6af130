"""Initial schema: runs, their entity/decision links, artifacts, disclosure packs.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 14:05:03.575478
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen here so later model changes never rewrite history.
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cost_estimate", sa.Float(), nullable=True),
        sa.Column("cost_actual", sa.Float(), nullable=True),
        sa.Column("related_entity_ids", JSON_TYPE, nullable=False),
        sa.Column("related_decision_ids", JSON_TYPE, nullable=False),
        sa.Column("metadata", JSON_TYPE, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_runs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_owner_started_at_id", ["owner", "started_at", "id"], unique=False)
        batch_op.create_index("ix_runs_started_at_id", ["started_at", "id"], unique=False)
        batch_op.create_index("ix_runs_status_started_at_id", ["status", "started_at", "id"], unique=False)

    op.create_table(
        "artifacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path_or_uri", sa.String(length=4096), nullable=False),
        sa.Column("content_hash", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sbom_present", sa.Boolean(), nullable=False),
        sa.Column("slsa_provenance_present", sa.Boolean(), nullable=False),
        sa.Column("risk_assessment_present", sa.Boolean(), nullable=False),
        sa.Column("additional_metadata", JSON_TYPE, nullable=False),
        sa.CheckConstraint(
            "kind IN ('sbom', 'slsa_provenance', 'risk_assessment', 'build_log', 'test_report', 'other')",
            name=op.f("ck_artifacts_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_artifacts_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
    )
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_index("ix_artifacts_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_artifacts_kind_created_at_id",
            ["kind", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_artifacts_run_id_created_at_id",
            ["run_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "disclosure_packs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_disclosure_packs_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_packs")),
    )
    with op.batch_alter_table("disclosure_packs", schema=None) as batch_op:
        batch_op.create_index("ix_disclosure_packs_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_disclosure_packs_run_id_created_at_id",
            ["run_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "run_links",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=256), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('entity', 'decision')", name=op.f("ck_run_links_kind")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_links_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "kind", "target_id", name=op.f("pk_run_links")),
    )
    with op.batch_alter_table("run_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_run_links_kind_target_id_started_at_run_id",
            ["kind", "target_id", "started_at", "run_id"],
            unique=False,
        )

    op.create_table(
        "disclosure_pack_artifacts",
        sa.Column("pack_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_disclosure_pack_artifacts_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["disclosure_packs.id"],
            name=op.f("fk_disclosure_pack_artifacts_pack_id_disclosure_packs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pack_id", "position", name=op.f("pk_disclosure_pack_artifacts")),
    )
    with op.batch_alter_table("disclosure_pack_artifacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosure_pack_artifacts_artifact_id"),
            ["artifact_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("disclosure_pack_artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_pack_artifacts_artifact_id"))

    op.drop_table("disclosure_pack_artifacts")
    with op.batch_alter_table("run_links", schema=None) as batch_op:
        batch_op.drop_index("ix_run_links_kind_target_id_started_at_run_id")

    op.drop_table("run_links")
    with op.batch_alter_table("disclosure_packs", schema=None) as batch_op:
        batch_op.drop_index("ix_disclosure_packs_run_id_created_at_id")
        batch_op.drop_index("ix_disclosure_packs_created_at_id")

    op.drop_table("disclosure_packs")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_artifacts_run_id_created_at_id")
        batch_op.drop_index("ix_artifacts_kind_created_at_id")
        batch_op.drop_index("ix_artifacts_created_at_id")

    op.drop_table("artifacts")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_status_started_at_id")
        batch_op.drop_index("ix_runs_started_at_id")
        batch_op.drop_index("ix_runs_owner_started_at_id")

    op.drop_table("runs")
