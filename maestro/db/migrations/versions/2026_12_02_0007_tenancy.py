"""Tenants and API tokens; every resource row belongs to a tenant.

Adds ``tenants`` (with the ``default`` tenant) and ``api_tokens``, and a
``tenant_id`` column (default ``'default'``, so every existing row belongs to
it) to runs, run links, artifacts, disclosure packs, components, trusted keys
and idempotency keys. List indexes become tenant-leading, and uniqueness
(trusted key names and keys, idempotency keys) holds per tenant.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, [(old index, new index, columns after tenant_id)])
_INDEXES: list[tuple[str, list[tuple[str, str, list[str]]]]] = [
    (
        "runs",
        [
            ("ix_runs_started_at_id", "ix_runs_tenant_id_started_at_id", ["started_at", "id"]),
            (
                "ix_runs_owner_started_at_id",
                "ix_runs_tenant_id_owner_started_at_id",
                ["owner", "started_at", "id"],
            ),
            (
                "ix_runs_status_started_at_id",
                "ix_runs_tenant_id_status_started_at_id",
                ["status", "started_at", "id"],
            ),
        ],
    ),
    (
        "run_links",
        [
            (
                "ix_run_links_kind_target_id_started_at_run_id",
                "ix_run_links_tenant_id_kind_target_id_started_at_run_id",
                ["kind", "target_id", "started_at", "run_id"],
            )
        ],
    ),
    (
        "artifacts",
        [
            ("ix_artifacts_created_at_id", "ix_artifacts_tenant_id_created_at_id", ["created_at", "id"]),
            (
                "ix_artifacts_kind_created_at_id",
                "ix_artifacts_tenant_id_kind_created_at_id",
                ["kind", "created_at", "id"],
            ),
        ],
    ),
    (
        "disclosure_packs",
        [
            (
                "ix_disclosure_packs_created_at_id",
                "ix_disclosure_packs_tenant_id_created_at_id",
                ["created_at", "id"],
            )
        ],
    ),
    (
        "components",
        [
            (
                "ix_components_purl_created_at_id",
                "ix_components_tenant_id_purl_created_at_id",
                ["purl", "created_at", "id"],
            ),
            (
                "ix_components_purl_base_created_at_id",
                "ix_components_tenant_id_purl_base_created_at_id",
                ["purl_base", "created_at", "id"],
            ),
            (
                "ix_components_name_version_created_at_id",
                "ix_components_tenant_id_name_version_created_at_id",
                ["name", "version", "created_at", "id"],
            ),
        ],
    ),
    ("trusted_keys", []),
    ("idempotency_keys", []),
]


def _create_tenancy_tables() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    tenants = sa.table(
        "tenants", sa.column("id", sa.String()), sa.column("name", sa.String()), sa.column("created_at")
    )
    op.bulk_insert(tenants, [{"id": "default", "name": "Default tenant", "created_at": datetime.now(UTC)}])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint("role IN ('viewer', 'writer', 'admin')", name=op.f("ck_api_tokens_role")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["api_tokens.id"], name=op.f("fk_api_tokens_created_by_api_tokens")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_api_tokens_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(
        "ix_api_tokens_tenant_id_created_at_id", "api_tokens", ["tenant_id", "created_at", "id"], unique=False
    )


def _add_tenant_column(batch_op: object, table: str) -> None:
    batch_op.add_column(  # type: ignore[attr-defined]
        sa.Column("tenant_id", sa.String(length=64), server_default=sa.text("'default'"), nullable=False)
    )
    batch_op.create_foreign_key(  # type: ignore[attr-defined]
        op.f(f"fk_{table}_tenant_id_tenants"), "tenants", ["tenant_id"], ["id"]
    )


def upgrade() -> None:
    _create_tenancy_tables()
    for table, indexes in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            _add_tenant_column(batch_op, table)
            for old, new, columns in indexes:
                batch_op.drop_index(old)
                batch_op.create_index(new, ["tenant_id", *columns], unique=False)
            if table == "trusted_keys":
                batch_op.drop_constraint("uq_trusted_keys_name", type_="unique")
                batch_op.drop_constraint("uq_trusted_keys_key_id", type_="unique")
                batch_op.create_unique_constraint("uq_trusted_keys_tenant_id_name", ["tenant_id", "name"])
                batch_op.create_unique_constraint("uq_trusted_keys_tenant_id_key_id", ["tenant_id", "key_id"])
            if table == "idempotency_keys":
                batch_op.drop_constraint("pk_idempotency_keys", type_="primary")
                batch_op.create_primary_key("pk_idempotency_keys", ["tenant_id", "scope", "key"])


def downgrade() -> None:
    """Back to one implicit tenant: fails (unique violations) if two tenants now share a
    trusted key name or an idempotency key - there is no lossless way back from that."""
    for table, indexes in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "idempotency_keys":
                batch_op.drop_constraint("pk_idempotency_keys", type_="primary")
                batch_op.create_primary_key("pk_idempotency_keys", ["scope", "key"])
            if table == "trusted_keys":
                batch_op.drop_constraint("uq_trusted_keys_tenant_id_key_id", type_="unique")
                batch_op.drop_constraint("uq_trusted_keys_tenant_id_name", type_="unique")
                batch_op.create_unique_constraint("uq_trusted_keys_key_id", ["key_id"])
                batch_op.create_unique_constraint("uq_trusted_keys_name", ["name"])
            for old, new, columns in indexes:
                batch_op.drop_index(new)
                batch_op.create_index(old, columns, unique=False)
            batch_op.drop_constraint(op.f(f"fk_{table}_tenant_id_tenants"), type_="foreignkey")
            batch_op.drop_column("tenant_id")
    op.drop_index("ix_api_tokens_tenant_id_created_at_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("tenants")
