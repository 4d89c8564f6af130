"""Bounded evidence: artifacts keep a small view; full evidence and archive members move out.

An archive's 10,000 members (2-3 MB of JSON) rode along in every artifact list,
manifest and stored idempotent response. Now ``artifacts.evidence`` holds the
bounded view, ``artifact_evidence`` the full evidence without members, and
``artifact_members`` one row per member. Existing rows are rewritten in batches.
The downgrade folds the members back into ``artifacts.evidence`` (in their
compact form: the members' full evidence was never kept apart).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:50:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_BATCH = 200

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_artifacts = sa.table("artifacts", sa.column("id", sa.String()), sa.column("evidence", JSON_TYPE))
_details = sa.table(
    "artifact_evidence", sa.column("artifact_id", sa.String()), sa.column("evidence", JSON_TYPE)
)
_members = sa.table(
    "artifact_members",
    sa.column("artifact_id", sa.String()),
    sa.column("position", sa.Integer()),
    sa.column("path", sa.Text()),
    sa.column("size", sa.BigInteger()),
    sa.column("skipped", sa.Text()),
    sa.column("evidence", JSON_TYPE),
)


def upgrade() -> None:
    op.create_table(
        "artifact_evidence",
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_evidence_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_id", name=op.f("pk_artifact_evidence")),
    )
    op.create_table(
        "artifact_members",
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.Text(), nullable=True),
        sa.Column("evidence", JSON_TYPE, nullable=True),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_members_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artifact_id", "position", name=op.f("pk_artifact_members")),
    )
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.drop_index("ix_components_artifact_id")
        batch_op.create_index(
            "ix_components_artifact_id_created_at_id", ["artifact_id", "created_at", "id"], unique=False
        )
    _split_existing()


def downgrade() -> None:
    _fold_back()
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.drop_index("ix_components_artifact_id_created_at_id")
        batch_op.create_index("ix_components_artifact_id", ["artifact_id"], unique=False)
    op.drop_table("artifact_members")
    op.drop_table("artifact_evidence")


def _batches(conn: sa.Connection, table: Any, key: Any, *where: Any) -> Any:
    """Rows of ``table`` in ``key`` order, a batch at a time (never the whole table in memory)."""
    last = ""
    while True:
        stmt = sa.select(table).where(key > last, *where).order_by(key).limit(_BATCH)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _split_existing() -> None:
    """Rewrite every stored evidence into view + detail + members, as writes do today."""
    from maestro.evidence.compact import split_evidence
    from maestro.models import ArtifactEvidence

    conn = op.get_bind()
    for rows in _batches(conn, _artifacts, _artifacts.c.id, _artifacts.c.evidence.is_not(None)):
        for artifact_id, stored in rows:
            if stored is None:  # JSON null
                continue
            view, full, members = split_evidence(ArtifactEvidence.model_validate(stored))
            conn.execute(sa.update(_artifacts).where(_artifacts.c.id == artifact_id).values(evidence=view))
            conn.execute(sa.insert(_details), [{"artifact_id": artifact_id, "evidence": full}])
            if members:
                conn.execute(sa.insert(_members), [{"artifact_id": artifact_id, **m} for m in members])


def _fold_back() -> None:
    conn = op.get_bind()
    for rows in _batches(conn, _details, _details.c.artifact_id):
        for artifact_id, full in rows:
            members = conn.execute(
                sa.select(_members.c.path, _members.c.size, _members.c.skipped, _members.c.evidence)
                .where(_members.c.artifact_id == artifact_id)
                .order_by(_members.c.position)
            ).all()
            evidence = dict(full)
            evidence["members"] = [
                {"path": m.path, "size": m.size, "skipped": m.skipped, "evidence": m.evidence}
                for m in members
            ]
            conn.execute(
                sa.update(_artifacts).where(_artifacts.c.id == artifact_id).values(evidence=evidence)
            )
