"""Wrapping a gRPC method handler's behaviour, as server interceptors do (errors to statuses, the service a
request runs in): unary-unary and unary-stream methods, the kinds lbi's services have."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Behaviour = Callable[..., Any]


def wrap_handler(
    handler: grpc.RpcMethodHandler | None,
    unary: Callable[[Behaviour], Behaviour],
    stream: Callable[[Behaviour], Behaviour],
) -> grpc.RpcMethodHandler | None:
    """The handler with its behaviour replaced by `unary(behaviour)` or `stream(behaviour)`; others unchanged."""
    if handler is None:
        return None
    if handler.unary_unary:
        return handler._replace(unary_unary=unary(handler.unary_unary))
    if handler.unary_stream:
        return handler._replace(unary_stream=stream(handler.unary_stream))
    return handler
