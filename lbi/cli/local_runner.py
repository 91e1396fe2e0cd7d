"""A runner for CLI commands: the one at --runner, or one started in this process on a free port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from lbi.clients.runner import RunnerClient
from lbi.config import RunnerSettings


@contextlib.asynccontextmanager
async def runner_client(target: str | None) -> AsyncIterator[RunnerClient]:
    """A client of `target`, or of a real gRPC runner started here on 127.0.0.1 and stopped afterwards."""
    if target:
        async with RunnerClient(target) as client:
            yield client
        return
    from env_runners.server import start_runner

    server, service = await start_runner(RunnerSettings(runner_port=0))
    try:
        async with RunnerClient(f"127.0.0.1:{server.port}") as client:
            yield client
    finally:
        await service.shutdown()
        await server.stop(0)
