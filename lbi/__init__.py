"""lbi: Learn-by-interact as a service. Shared core of the synthesis, retrieval and env-runner services."""

__version__ = "0.1.0"
