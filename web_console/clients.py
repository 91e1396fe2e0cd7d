"""The console's gRPC clients: one channel per service, every call carrying the signed-in user's bearer token.

The console reads nothing but these APIs (synthesis, retrieval, episodes, runner), so it shows the same against
`lbi up` on a laptop and against a cluster. gRPC errors become `ServiceFailure`s the pages show (never a traceback).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc

from lbi.clients.channel import open_channel
from lbi.v1 import env_runner_pb2_grpc, episodes_pb2_grpc, retrieval_pb2_grpc, synthesis_pb2_grpc

DEFAULT_TIMEOUT_S = 30.0

# The HTTP status each gRPC status is shown with.
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class ServiceFailure(Exception):
    """A service's answer that was an error: which service, the gRPC code and its message."""

    def __init__(self, service: str, code: grpc.StatusCode, message: str):
        super().__init__(f"{service}: {code.name}: {message}")
        self.service, self.code, self.message = service, code, message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 502)


@dataclass(frozen=True)
class Targets:
    synthesis: str
    retrieval: str
    runner: str = ""
    episodes: str = ""  # empty: the retrieval target (which `lbi up` also serves the EpisodeService on)


class _Stub:
    """A stub whose unary calls carry the token and a deadline, and raise ServiceFailure."""

    def __init__(self, service: str, stub: Any, token: str):
        self._service, self._stub = service, stub
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async def call(self, method: str, request: Any, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
        try:
            return await getattr(self._stub, method)(request, metadata=self._metadata, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise ServiceFailure(self._service, exc.code(), exc.details() or exc.code().name) from None

    async def stream(self, method: str, request: Any) -> AsyncIterator[Any]:
        try:
            async for item in getattr(self._stub, method)(request, metadata=self._metadata):
                yield item
        except grpc.aio.AioRpcError as exc:
            raise ServiceFailure(self._service, exc.code(), exc.details() or exc.code().name) from None


class Channels:
    """The console's open channels (one per distinct target), shared by every request."""

    def __init__(self, targets: Targets):
        self.targets = targets
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _channel(self, target: str) -> grpc.aio.Channel:
        if target not in self._channels:
            self._channels[target] = open_channel(target)
        return self._channels[target]

    def for_token(self, token: str) -> Services:
        return Services(self, token)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()


class Services:
    """The four services as one signed-in user calls them."""

    def __init__(self, channels: Channels, token: str):
        t = channels.targets
        self.synthesis = _Stub(
            "synthesis", synthesis_pb2_grpc.SynthesisServiceStub(channels._channel(t.synthesis)), token
        )
        self.retrieval = _Stub(
            "retrieval", retrieval_pb2_grpc.RetrievalServiceStub(channels._channel(t.retrieval)), token
        )
        self.episodes = _Stub(
            "episodes", episodes_pb2_grpc.EpisodeServiceStub(channels._channel(t.episodes or t.retrieval)), token
        )
        self.runner = (
            _Stub("runner", env_runner_pb2_grpc.EnvRunnerStub(channels._channel(t.runner)), token) if t.runner else None
        )
