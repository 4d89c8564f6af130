"""Alembic environment: always runs on a connection handed in by maestro.db.migrate."""

from __future__ import annotations

from alembic import context

from maestro.db.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - guarded for people running bare `alembic`
    raise SystemExit("Run migrations with `maestro db upgrade`, not bare alembic.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
