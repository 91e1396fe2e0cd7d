"""Wrapping a gRPC method handler's behaviour, as server interceptors do (errors to statuses, the service a
request runs in): unary-unary and unary-stream methods, the kinds lbi's services have."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, cast

import grpc

Behaviour: TypeAlias = Callable[..., Any]
# A method handler and what an interceptor calls to get it (grpc's classes are generic only in the type stubs).
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation: TypeAlias = "Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]"
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


def wrap_handler(
    handler: Handler | None,
    unary: Callable[[Behaviour], Behaviour],
    stream: Callable[[Behaviour], Behaviour],
) -> Handler | None:
    """The handler with its behaviour replaced by `unary(behaviour)` or `stream(behaviour)`; others unchanged."""
    if handler is None:
        return None
    # at run time a handler is a named tuple (grpc's _RPCMethodHandler); the stubs only know its fields
    if handler.unary_unary:
        return cast(Handler, cast(Any, handler)._replace(unary_unary=unary(handler.unary_unary)))
    if handler.unary_stream:
        return cast(Handler, cast(Any, handler)._replace(unary_stream=stream(handler.unary_stream)))
    return handler
