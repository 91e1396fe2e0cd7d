"""grpc.aio channels the way every lbi client opens them: instrumented, with large-message limits."""

from __future__ import annotations

import os
from pathlib import Path

import grpc

from lbi.grpc_server import MAX_MESSAGE_BYTES
from lbi.telemetry import client_interceptors

OPTIONS = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]


def credentials(ca_file: str | None = None) -> grpc.ChannelCredentials | None:
    """TLS credentials trusting `ca_file` (default LBI_TLS_CA_FILE), or None for a plain channel."""
    ca_file = os.environ.get("LBI_TLS_CA_FILE", "") if ca_file is None else ca_file
    return grpc.ssl_channel_credentials(Path(ca_file).read_bytes()) if ca_file else None


def open_channel(target: str, ca_file: str | None = None) -> grpc.aio.Channel:
    """An instrumented grpc.aio channel; TLS when a CA file is given or configured."""
    tls = credentials(ca_file)
    if tls is None:
        return grpc.aio.insecure_channel(target, interceptors=client_interceptors(), options=OPTIONS)
    return grpc.aio.secure_channel(target, tls, interceptors=client_interceptors(), options=OPTIONS)
