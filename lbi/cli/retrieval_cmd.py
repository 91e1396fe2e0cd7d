"""`lbi retrieval serve` and `lbi retrieve`: run the retrieval service, ask it for demonstrations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict

import grpc
import typer
from rich.console import Console
from rich.table import Table

from lbi.cli.serve_cmd import wait_for_signal
from lbi.clients.retrieval import MODES, AsyncRetrievalClient, RetrieveResult
from lbi.telemetry import setup_telemetry, tracer
from retrieval_service.config import RetrievalSettings

console = Console()
app = typer.Typer(help="The retrieval service.", no_args_is_help=True)


async def _serve(settings: RetrievalSettings) -> None:
    from retrieval_service.server import start_retrieval

    server, _ = await start_retrieval(settings)
    console.print(f"retrieval service on {settings.retrieval_host}:{server.port}")
    await wait_for_signal()
    await server.stop(5)


@app.command("serve")
def serve(
    port: int | None = typer.Option(None, "--port", help="Port (default LBI_RETRIEVAL_PORT, 50052)."),
    host: str | None = typer.Option(None, "--host", help="Bind address (default LBI_RETRIEVAL_HOST)."),
) -> None:
    """Serve retrieval over the configured store (embedded under LBI_DATA_DIR, or LBI_QDRANT_URL)."""
    settings = RetrievalSettings()
    overrides = {k: v for k, v in {"retrieval_port": port, "retrieval_host": host}.items() if v is not None}
    logging.basicConfig(level=settings.log_level)
    asyncio.run(_serve(settings.model_copy(update=overrides)))


@contextlib.asynccontextmanager
async def _client(target: str, local: bool, token: str | None) -> AsyncIterator[AsyncRetrievalClient]:
    if not local:
        async with AsyncRetrievalClient(target, token=token) as client:
            yield client
        return
    from retrieval_service.server import start_retrieval

    server, _ = await start_retrieval(RetrievalSettings(retrieval_port=0, auth_tokens=""))
    try:
        async with AsyncRetrievalClient(f"127.0.0.1:{server.port}") as client:
            yield client
    finally:
        await server.stop(0)


def _print(result: RetrieveResult) -> None:
    table = Table("#", "mode", "score", "env", "origin", "instruction", "matched step", "trajectory", "span")
    for i, e in enumerate(result.examples, start=1):
        table.add_row(
            str(i),
            e.mode,
            f"{e.score:.3f}",
            e.env,
            e.origin,
            e.instruction,
            str(e.matched_step),
            e.source_trajectory_id[:12],
            f"{e.span[0]}-{e.span[1]}",
        )
    console.print(table)
    if result.queries:
        console.print(f"queries: {result.queries}")
    console.print(f"[dim]{', '.join(f'{k} {v:.1f}' for k, v in result.timings_ms.items())}[/dim]")


def retrieve(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name."),
    observation: str = typer.Option("", "--observation", help="The agent's current observation ('-' reads stdin)."),
    instruction: str = typer.Option("", "--instruction", help="The agent's task."),
    query: list[str] | None = typer.Option(None, "--query", help="A query for query mode (repeatable)."),
    mode: str = typer.Option("agentic", "--mode", help=f"One of {', '.join(MODES)}."),
    k: int = typer.Option(0, "-k", help="Examples per mode (0: the service default, 5)."),
    generate: bool = typer.Option(False, "--generate-queries", help="Let the service's LLM write the query."),
    budget: int = typer.Option(
        0, "--prompt-budget", help="Also return a prompt block of at most this many characters."
    ),
    per_trajectory: int = typer.Option(
        0,
        "--per-trajectory",
        help="Observation mode: examples per source trajectory at most (0: the service default, 1).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    target: str = typer.Option("", "--target", help="Service host:port (default 127.0.0.1:LBI_RETRIEVAL_PORT)."),
    local: bool = typer.Option(False, "--local", help="Serve from this process over the configured store instead."),
    token: str | None = typer.Option(None, "--token", envvar="LBI_TOKEN", help="Bearer token."),
) -> None:
    """Ask for demonstrations for an observation and task."""
    if observation == "-":
        observation = sys.stdin.read()
    if mode not in MODES:
        raise typer.BadParameter(f"--mode must be one of {', '.join(MODES)}")
    settings = RetrievalSettings()
    setup_telemetry("lbi-cli")  # the command's spans (and, with OTEL_EXPORTER_OTLP_ENDPOINT, their export)

    async def run() -> RetrieveResult:
        async with _client(target or f"127.0.0.1:{settings.retrieval_port}", local, token) as client:
            # the command's own trace: its span is the parent of the call's client span and the service's spans
            with tracer("lbi.cli").start_as_current_span(
                "lbi retrieve", attributes={"lbi.dataset": dataset, "lbi.mode": mode}
            ):
                return await client.retrieve(
                    dataset,
                    observation=observation,
                    instruction=instruction,
                    queries=query or [],
                    mode=mode,
                    k=k,
                    generate_queries=generate,
                    prompt_budget_chars=budget,
                    per_trajectory=per_trajectory,
                    timeout_s=30,
                )

    try:
        result = asyncio.run(run())
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]{exc.code().name}[/red]: {exc.details()}")
        raise typer.Exit(1) from None
    finally:
        setup_telemetry("lbi-cli").force_flush()
    if as_json:
        print(json.dumps(asdict(result), ensure_ascii=False))
    else:
        _print(result)
        if result.prompt_block:
            console.print(result.prompt_block, markup=False)
