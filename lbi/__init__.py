"""lbi: Learn-by-interact as a service. Shared core of the synthesis, retrieval and env-runner services."""

import os

# Environments start subprocesses from a gRPC server process: gRPC's fork handlers are not wanted there,
# and its informational logs about skipping them are noise.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

__version__ = "0.1.0"
