"""Alembic's environment for the office: run on the connection ``office.store.migrate``
hands over (there is no alembic.ini; ``locker-office migrate`` is the way in)."""

from __future__ import annotations

from alembic import context

from office.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
