"""Builds a grpc.aio server the way every lbi service needs it.

Interceptors (telemetry first, then errors, then whatever the service adds), health checking with a
status per service, server reflection, and a bound port on the configured host (port 0 picks a free
one, as the integration tests do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from lbi.errors import ErrorInterceptor
from lbi.telemetry import server_interceptors

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class Server:
    """A started grpc.aio server, its port and its health servicer."""

    def __init__(self, server: grpc.aio.Server, port: int, health_servicer: health.aio.HealthServicer):
        self.grpc = server
        self.port = port
        self.health = health_servicer
        self._on_stop: list = []

    def on_stop(self, callback) -> None:
        """Runs `await callback()` when the server stops (background tasks tied to its life)."""
        self._on_stop.append(callback)

    async def set_serving(self, service: str, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set(service, status)

    async def stop(self, grace: float | None = 1.0) -> None:
        await self.health.enter_graceful_shutdown()
        for callback in self._on_stop:
            await callback()
        await self.grpc.stop(grace)


async def start_server(
    service_name: str,
    register: Sequence[tuple[Callable[[Any, grpc.aio.Server], None], Any, str]],
    host: str = "127.0.0.1",
    port: int = 0,
    extra_interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    tls_cert_file: str = "",
    tls_key_file: str = "",
) -> Server:
    """Starts a server hosting `register` = [(add_XServicer_to_server, servicer, full service name)]."""
    server = grpc.aio.server(
        interceptors=[*server_interceptors(service_name), ErrorInterceptor(), *extra_interceptors],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [health.SERVICE_NAME, reflection.SERVICE_NAME]
    for add, servicer, name in register:
        add(servicer, server)
        names.append(name)
    reflection.enable_server_reflection(names, server)
    if tls_cert_file or tls_key_file:
        key, cert = Path(tls_key_file).read_bytes(), Path(tls_cert_file).read_bytes()
        bound = server.add_secure_port(f"{host}:{port}", grpc.ssl_server_credentials([(key, cert)]))
    else:
        bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind {host}:{port}")
    await server.start()
    wrapped = Server(server, bound, health_servicer)
    for _, _, name in register:
        await wrapped.set_serving(name, True)
    await wrapped.set_serving("", True)
    return wrapped
