"""A runner for CLI commands: the one at --runner, or one started in this process on a free port; and the
launcher the CLI gives the synthesis engine for jobs that name no runner (the service never imports the runner)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from lbi.clients.runner import RunnerClient
from lbi.config import CommonSettings, RunnerSettings


@contextlib.asynccontextmanager
async def runner_client(target: str | None) -> AsyncIterator[RunnerClient]:
    """A client of `target`, or of a real gRPC runner started here on 127.0.0.1 and stopped afterwards."""
    if target:
        async with RunnerClient(target) as client:
            yield client
        return
    address, stop = await launch_runner(RunnerSettings())
    try:
        async with RunnerClient(address) as client:
            yield client
    finally:
        await stop()


async def launch_runner(settings: CommonSettings) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A real gRPC runner on a free port of 127.0.0.1 with the service's settings (data dir, root file system,
    limits); its address and how to stop it. The synthesis engine's RunnerLauncher."""
    # imported on use: the runner loads every environment (0.7 s of every CLI command's start-up)
    from env_runners.server import start_runner

    runner_settings = RunnerSettings(
        **{**settings.model_dump(include=set(RunnerSettings.model_fields)), "runner_port": 0}
    )
    server, service = await start_runner(runner_settings)

    async def stop() -> None:
        await service.shutdown()
        await server.stop(0)

    return f"127.0.0.1:{server.port}", stop
