"""Alembic's entry point for the journal's revisions: runs them on the connection synth_service/journal_db.py passes
(`config.attributes["connection"]`, inside its transaction); never from a URL of its own."""

from __future__ import annotations

from alembic import context

from synth_service.journal_schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
)
with context.begin_transaction():
    context.run_migrations()
