"""`lbi up` and `lbi runner serve`: run services until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import typer
from rich.console import Console

from lbi.config import RunnerSettings

console = Console()
runner_app = typer.Typer(help="The env-runner service.", no_args_is_help=True)


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _serve_runner(settings: RunnerSettings, envs: list[str] | None) -> None:
    from env_runners.server import start_runner

    server, service = await start_runner(settings, envs)
    console.print(
        f"env-runner on {settings.runner_host}:{server.port} hosting {', '.join(sorted(service.environments))}"
    )
    await wait_for_signal()
    console.print("stopping")
    await service.shutdown()
    await server.stop(5)


@runner_app.command("serve")
def serve(
    port: int | None = typer.Option(None, "--port", help="Port (default LBI_RUNNER_PORT, 50051)."),
    host: str | None = typer.Option(None, "--host", help="Bind address (default LBI_RUNNER_HOST, 127.0.0.1)."),
    env: list[str] | None = typer.Option(None, "--env", help="Host only these environments (repeatable)."),
) -> None:
    """Serve the installed environments over gRPC."""
    settings = RunnerSettings()
    overrides = {k: v for k, v in {"runner_port": port, "runner_host": host}.items() if v is not None}
    logging.basicConfig(level=settings.log_level)
    asyncio.run(_serve_runner(settings.model_copy(update=overrides), env or None))


async def _up(runner_settings: RunnerSettings, retrieval_settings, synth_settings, console_port: int | None) -> None:
    from pathlib import Path

    from lbi.cli.console_cmd import serve_console
    from lbi.cli.local_stack import running_stack
    from web_console.clients import Targets

    async with running_stack(runner_settings, retrieval_settings, synth_settings, serve_synthesis=True) as stack:
        console.print(
            f"env-runner on {stack.runner_target}, retrieval (and episodes) on {retrieval_settings.retrieval_host}:"
            f"{stack.retrieval_target.rsplit(':', 1)[1]}, synthesis on "
            f"{synth_settings.synth_host}:{stack.synthesis.port if stack.synthesis else '-'}, "
            f"store: {stack.store.backend}"
        )
        stop = asyncio.Event()
        web = None
        if console_port is not None and stack.synthesis is not None:
            targets = Targets(f"127.0.0.1:{stack.synthesis.port}", stack.retrieval_target, stack.runner_target)
            eval_dirs = (Path(synth_settings.data_dir) / "eval",)
            web = asyncio.create_task(
                serve_console(targets, "127.0.0.1", console_port, eval_dirs, synth_settings.auth_tokens, stop=stop)
            )
        await wait_for_signal()
        stop.set()
        if web is not None:
            await web
        console.print("stopping")


def up(
    runner_port: int | None = typer.Option(None, "--runner-port", help="env-runner port."),
    retrieval_port: int | None = typer.Option(None, "--retrieval-port", help="retrieval port."),
    synth_port: int | None = typer.Option(None, "--synth-port", help="synthesis port."),
    console_port: int | None = typer.Option(
        None, "--console-port", help="Also serve the web console on 127.0.0.1 at this port."
    ),
) -> None:
    """Run the local deployment in one process: every service sharing one embedded store and model."""
    from retrieval_service.config import RetrievalSettings
    from synth_service.config import SynthSettings

    def apply(settings, field, value):
        return settings if value is None else settings.model_copy(update={field: value})

    runner_settings = apply(RunnerSettings(), "runner_port", runner_port)
    retrieval_settings = apply(RetrievalSettings(), "retrieval_port", retrieval_port)
    synth_settings = apply(SynthSettings(), "synth_port", synth_port)
    logging.basicConfig(level=runner_settings.log_level)
    asyncio.run(_up(runner_settings, retrieval_settings, synth_settings, console_port))
