"""The `lbi` command line."""
