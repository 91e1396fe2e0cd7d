"""`lbi mcp serve`: the MCP server (lbi/integrations/mcp_server.py) on stdio or streamable HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import typer

from lbi.cli.local_runner import launch_runner

app = typer.Typer(help="The Model Context Protocol server.", no_args_is_help=True)


@contextlib.asynccontextmanager
async def _retrieval_target(target: str, local: bool) -> AsyncIterator[str]:
    """The retrieval service's address: `target`, or (`--local`) a retrieval service with the EpisodeService started
    in this process over the configured store, with the configured tokens."""
    if not local:
        yield target
        return
    from lbi.embedding import Embedder
    from lbi.store import open_store
    from retrieval_service.config import RetrievalSettings
    from retrieval_service.server import start_retrieval
    from synth_service.config import SynthSettings
    from synth_service.engine import Engine
    from synth_service.server import episode_service

    settings = RetrievalSettings(retrieval_port=0)
    store = open_store(settings)
    embedder = Embedder.from_settings(settings)
    engine = Engine(SynthSettings(), store, embedder, launch_runner=launch_runner)
    server, _ = await start_retrieval(
        settings.model_copy(update={"retrieval_host": "127.0.0.1"}),
        store=store,
        embedder=embedder,
        also_serve=[episode_service(engine, settings.auth_tokens)],
    )
    engine.online.start()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await engine.close()
        await server.stop(0)
        await store.close()


@app.command("serve")
def serve(
    transport: str = typer.Option("stdio", "--transport", help="stdio, or http (streamable HTTP at /mcp)."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP bind address."),
    port: int = typer.Option(8765, "--port", help="HTTP port."),
    target: str = typer.Option("127.0.0.1:50052", "--target", help="The retrieval service (host:port)."),
    episodes_target: str = typer.Option("", "--episodes-target", help="The EpisodeService, when not at --target."),
    local: bool = typer.Option(False, "--local", help="Serve from this process over the configured store instead."),
    token: str | None = typer.Option(None, "--token", envvar="LBI_TOKEN", help="Bearer token for the stdio transport."),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="With --local: the data directory to serve (an MCP client starts this in a folder of its own choosing).",
    ),
) -> None:
    """Serve lbi's tools to MCP clients: demonstrations per step, datasets, episode reports."""
    if data_dir is not None:  # before any settings are read: every service of this process serves this folder
        os.environ["LBI_DATA_DIR"] = str(data_dir.expanduser().resolve())
    from lbi.auth import TokenTable
    from lbi.config import CommonSettings
    from lbi.integrations.mcp_server import Clients, http_app, serving

    if transport not in ("stdio", "http"):
        raise typer.BadParameter("--transport is stdio or http")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout is the stdio transport's
    from lbi.telemetry import setup_telemetry

    setup_telemetry("lbi-mcp")  # the SDK's spans continue the client's trace; the gRPC calls carry it on
    tokens = TokenTable(CommonSettings().auth_tokens)

    async def main() -> None:
        async with (
            _retrieval_target(target, local) as address,
            serving(Clients(address, token, episodes_target or None)) as server,
        ):
            if transport == "stdio":
                await server.run_stdio_async()
                return
            import uvicorn

            print(f"MCP server on http://{host}:{port}/mcp (retrieval at {address})", file=sys.stderr, flush=True)
            config = uvicorn.Config(http_app(server, tokens, host), host=host, port=port, log_level="warning")
            await uvicorn.Server(config).serve()

    asyncio.run(main())
