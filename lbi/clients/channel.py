"""grpc.aio channels the way every lbi client opens them: instrumented, with large-message limits."""

from __future__ import annotations

import grpc

from lbi.grpc_server import MAX_MESSAGE_BYTES
from lbi.telemetry import client_interceptors


def open_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        target,
        interceptors=client_interceptors(),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
