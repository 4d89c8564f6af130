"""Components carry their sbom-diff key, indexed per run in byte order.

sbom-diff sorted both runs' components by ``coalesce(purl_base, 'name:' || name)``
on every request (a million-row sort at 500k per side, ~14 s). The key is now a
column written at ingest, and ``(run_id, diff_key)`` is indexed - in the "C"
collation on PostgreSQL, the byte order SQLite's BINARY and Python already use -
so each run is read in index order and the two streams are merged in Python.
The new index also serves every lookup by run, so it replaces ``ix_components_run_id``.
Existing rows are backfilled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DIFF_KEY_TYPE = sa.String(length=2048).with_variant(sa.String(length=2048, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.add_column(sa.Column("diff_key", DIFF_KEY_TYPE, nullable=True))
    op.execute("UPDATE components SET diff_key = coalesce(purl_base, 'name:' || name)")
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.alter_column("diff_key", existing_type=DIFF_KEY_TYPE, nullable=False)
        batch_op.create_index("ix_components_run_id_diff_key", ["run_id", "diff_key"], unique=False)
        batch_op.drop_index("ix_components_run_id")


def downgrade() -> None:
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.create_index("ix_components_run_id", ["run_id"], unique=False)
        batch_op.drop_index("ix_components_run_id_diff_key")
        batch_op.drop_column("diff_key")
