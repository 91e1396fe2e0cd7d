"""`lbi console`: the web console (web_console/) against running services, or against a local stack this process
starts on the data directory (as `lbi mcp serve --local` does)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import typer

from lbi.config import RunnerSettings


class _Server:
    """uvicorn serving the console inside a process that handles its own signals (`lbi up`, `lbi console`)."""

    @staticmethod
    def make(app, host: str, port: int):
        import uvicorn

        class Quiet(uvicorn.Server):
            def capture_signals(self):  # the caller waits for SIGINT/SIGTERM and sets should_exit
                return contextlib.nullcontext()

        return Quiet(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))


async def serve_console(
    targets,
    host: str,
    port: int,
    eval_dirs: tuple[Path, ...],
    auth_tokens: str,
    secure_cookies: bool = False,
    stop: asyncio.Event | None = None,
) -> None:
    """Serves the console until `stop` is set (or SIGINT/SIGTERM when no event is given), then shuts down cleanly."""
    from lbi.cli.serve_cmd import wait_for_signal
    from web_console.app import create_app

    server = _Server.make(create_app(targets, auth_tokens, eval_dirs, secure_cookies), host, port)
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if serving.done():
        await serving  # it could not start (the port is taken, say): its error
        raise SystemExit(f"the console could not listen on {host}:{port}")
    bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
    print(f"console on http://{host}:{bound}/", file=sys.stderr, flush=True)
    waiting = asyncio.create_task(stop.wait() if stop is not None else wait_for_signal())
    await asyncio.wait([waiting, serving], return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    waiting.cancel()
    await serving


@contextlib.asynccontextmanager
async def _local_targets() -> AsyncIterator[tuple[object, str]]:
    """The services started in this process on free 127.0.0.1 ports, over the configured data directory and tokens."""
    from lbi.cli.local_stack import running_stack
    from retrieval_service.config import RetrievalSettings
    from synth_service.config import SynthSettings
    from web_console.clients import Targets

    runner_settings = RunnerSettings().model_copy(update={"runner_port": 0, "runner_host": "127.0.0.1"})
    synth = SynthSettings().model_copy(update={"synth_port": 0, "synth_host": "127.0.0.1"})
    retrieval = RetrievalSettings().model_copy(update={"retrieval_port": 0, "retrieval_host": "127.0.0.1"})
    async with running_stack(runner_settings, retrieval, synth, serve_synthesis=True) as stack:
        assert stack.synthesis is not None
        targets = Targets(
            synthesis=f"127.0.0.1:{stack.synthesis.port}", retrieval=stack.retrieval_target, runner=stack.runner_target
        )
        yield targets, str(synth.data_dir / "eval")


def console(
    port: int = typer.Option(8470, "--port", help="HTTP port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Bind address (127.0.0.1: this machine only)."),
    synthesis: str = typer.Option("", "--synthesis", help="The synthesis service (host:port)."),
    retrieval: str = typer.Option("", "--retrieval", help="The retrieval service, which also serves the episodes."),
    runner: str = typer.Option("", "--runner", help="An env-runner (environments for the job form, config checks)."),
    episodes: str = typer.Option("", "--episodes", help="The EpisodeService, when not at --retrieval."),
    evals: list[Path] | None = typer.Option(
        None, "--evals", help="Folders of `lbi eval` runs (repeatable; default DATA_DIR/eval)."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Without targets: the data directory the local stack serves (default LBI_DATA_DIR)."
    ),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark the session cookie Secure (the console is reached over HTTPS)."
    ),
) -> None:
    """Serve the web console: jobs, what they learned and why, datasets, retrieval playground, evaluations, online.

    With --synthesis and --retrieval it is a client of those services (as in a cluster); without them it starts the
    services in this process on the data directory. With LBI_AUTH_TOKENS set every page needs a sign-in."""
    import os

    if data_dir is not None:
        os.environ["LBI_DATA_DIR"] = str(data_dir.expanduser().resolve())
    from lbi.config import CommonSettings
    from web_console.clients import Targets

    if bool(synthesis) != bool(retrieval):
        raise typer.BadParameter("give both --synthesis and --retrieval, or neither (a local stack)")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    tokens = CommonSettings().auth_tokens

    async def main() -> None:
        if synthesis:
            dirs = tuple(evals or ())
            await serve_console(
                Targets(synthesis, retrieval, runner, episodes), host, port, dirs, tokens, secure_cookies
            )
            return
        async with _local_targets() as (targets, default_evals):
            dirs = tuple(evals or (Path(default_evals),))
            await serve_console(targets, host, port, dirs, tokens, secure_cookies)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
