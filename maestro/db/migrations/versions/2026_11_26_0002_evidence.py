"""Uploaded content and verified evidence: blobs, artifact content columns,
the component index and trusted signing keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:20:06.287066
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_blobs")),
    )
    op.create_table(
        "trusted_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("key_id", sa.String(length=80), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_trusted_keys_key_id")),
        sa.UniqueConstraint("name", name=op.f("uq_trusted_keys_name")),
    )
    op.create_table(
        "components",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("purl", sa.String(length=2048), nullable=True),
        sa.Column("purl_base", sa.String(length=2048), nullable=True),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("version", sa.String(length=256), nullable=True),
        sa.Column("hashes", JSON_TYPE, nullable=False),
        sa.Column("licenses", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_components_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_components_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
    )
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.create_index("ix_components_artifact_id", ["artifact_id"], unique=False)
        batch_op.create_index(
            "ix_components_name_version_created_at_id", ["name", "version", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_components_purl_base_created_at_id", ["purl_base", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_components_purl_created_at_id", ["purl", "created_at", "id"], unique=False)
        batch_op.create_index("ix_components_run_id", ["run_id"], unique=False)

    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_digest", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("content_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("media_type", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("evidence", JSON_TYPE, nullable=True))
        batch_op.add_column(
            sa.Column("verified_sbom", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("verified_slsa_provenance", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("verified_risk_assessment", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_artifacts_content_digest"), ["content_digest"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_artifacts_content_digest_blobs"), "blobs", ["content_digest"], ["digest"]
        )


def downgrade() -> None:
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_artifacts_content_digest_blobs"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_artifacts_content_digest"))
        batch_op.drop_column("verified_risk_assessment")
        batch_op.drop_column("verified_slsa_provenance")
        batch_op.drop_column("verified_sbom")
        batch_op.drop_column("evidence")
        batch_op.drop_column("uploaded_at")
        batch_op.drop_column("media_type")
        batch_op.drop_column("content_size")
        batch_op.drop_column("content_digest")

    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.drop_index("ix_components_run_id")
        batch_op.drop_index("ix_components_purl_created_at_id")
        batch_op.drop_index("ix_components_purl_base_created_at_id")
        batch_op.drop_index("ix_components_name_version_created_at_id")
        batch_op.drop_index("ix_components_artifact_id")

    op.drop_table("components")
    op.drop_table("trusted_keys")
    op.drop_table("blobs")
