"""The retrieval modes by name and their protobuf values: one table for the service, the SDK and the CLIs."""

from __future__ import annotations

from lbi.v1 import retrieval_pb2 as pb

MODES = {
    "observation": pb.RETRIEVAL_MODE_OBSERVATION,
    "query": pb.RETRIEVAL_MODE_QUERY,
    "instruction": pb.RETRIEVAL_MODE_INSTRUCTION,
    "agentic": pb.RETRIEVAL_MODE_AGENTIC,
}
MODE_NAMES = {value: name for name, value in MODES.items()}
