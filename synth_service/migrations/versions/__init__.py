"""Alembic revisions of the job journal, oldest first (each names the one before it)."""
