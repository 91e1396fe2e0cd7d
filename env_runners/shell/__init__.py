"""The `shell` environment: bash in a sandboxed, copy-on-write view of the machine, one per session."""
