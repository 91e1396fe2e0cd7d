"""Errors that mean a gRPC status, and the server interceptor that turns them into one.

Service code raises `InvalidArgument("field", "why")`, `NotFound(...)`, ...; the interceptor aborts
the call with the matching status code and message. Anything else becomes INTERNAL with a reference
id; the traceback goes to the server log, never to the client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc

from lbi.grpc_handlers import Behaviour, Context, Continuation, Handler, wrap_handler

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error with a gRPC status code."""

    code = grpc.StatusCode.INTERNAL


class InvalidArgument(ServiceError):
    """A request field is wrong; the message names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class DeadlineExceeded(ServiceError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


async def _abort(context: Context, exc: BaseException, method: str) -> None:
    if isinstance(exc, ServiceError):
        await context.abort(exc.code, str(exc))
    ref = uuid.uuid4().hex[:12]
    log.exception("internal error in %s (ref %s)", method, ref, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (ref {ref})")


def _is_abort(exc: BaseException) -> bool:
    # context.abort() raises AbortError; let it through untouched.
    return isinstance(exc, grpc.aio.AbortError) or type(exc).__name__ == "AbortError"


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps ServiceError to its status code and hides every other exception behind INTERNAL."""

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        method = handler_call_details.method

        def unary(inner: Behaviour) -> Behaviour:
            async def unary_unary(request: Any, context: Context) -> Any:
                try:
                    return await inner(request, context)
                except Exception as exc:
                    if _is_abort(exc):
                        raise
                    await _abort(context, exc, method)

            return unary_unary

        def stream(inner: Behaviour) -> Behaviour:
            async def unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
                try:
                    async for item in inner(request, context):
                        yield item
                except Exception as exc:
                    if _is_abort(exc):
                        raise
                    await _abort(context, exc, method)

            return unary_stream

        return wrap_handler(await continuation(handler_call_details), unary, stream)
