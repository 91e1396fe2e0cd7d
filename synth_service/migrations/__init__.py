"""The job journal's schema, versioned: Alembic revisions run by synth_service/journal_db.py at start, for SQLite and
PostgreSQL alike (`alembic_version` in the journal says which ran)."""
