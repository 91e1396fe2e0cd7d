"""The `sql` environment: a private copy of a real SQLite database per session."""
