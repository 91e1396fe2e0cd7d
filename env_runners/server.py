"""Starts an env-runner gRPC server hosting the installed environments."""

from __future__ import annotations

from env_runners.registry import load_environments
from env_runners.service import EnvRunnerService
from lbi.auth import interceptors
from lbi.config import RunnerSettings
from lbi.grpc_server import Server, start_server
from lbi.v1 import env_runner_pb2_grpc

SERVICE_NAME = "lbi.v1.EnvRunner"


async def start_runner(
    settings: RunnerSettings, environments: list[str] | None = None
) -> tuple[Server, EnvRunnerService]:
    """A started runner on settings.runner_host:runner_port (0 = any free port) and its service."""
    service = EnvRunnerService(settings, load_environments(settings, environments))
    server = await start_server(
        "lbi-env-runner",
        [(env_runner_pb2_grpc.add_EnvRunnerServicer_to_server, service, SERVICE_NAME)],
        host=settings.runner_host,
        port=settings.runner_port,
        extra_interceptors=interceptors(settings.auth_tokens),
        tls_cert_file=settings.tls_cert_file,
        tls_key_file=settings.tls_key_file,
    )
    service.start_reaper()
    return server, service
