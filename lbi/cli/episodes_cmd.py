"""`lbi episodes`: what a dataset's online job has learned from reported episodes, and deleting episodes."""

from __future__ import annotations

import asyncio

import grpc
import typer
from google.protobuf import json_format
from rich.console import Console

from lbi.clients.retrieval import AsyncRetrievalClient

console = Console()
app = typer.Typer(help="Episodes reported by agents (online adaptation).", no_args_is_help=True)
TARGET = typer.Option(
    "127.0.0.1:50053",
    "--target",
    help="A service hosting the EpisodeService: the synthesis service, or the retrieval port of `lbi up`.",
)
TOKEN = typer.Option(None, "--token", envvar="LBI_TOKEN", help="Bearer token.")


def _call(work) -> None:
    try:
        console.print_json(json_format.MessageToJson(asyncio.run(work), always_print_fields_with_no_presence=True))
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]{exc.code().name}[/red]: {exc.details()}")
        raise typer.Exit(1) from None


async def _with_client(target: str, token: str | None, method: str, *args, **kwargs):
    async with AsyncRetrievalClient(target, token=token, timeout_s=60) as client:
        return await getattr(client, method)(*args, **kwargs)


@app.command("stats")
def stats(
    dataset: str = typer.Argument(..., help="Dataset name."), target: str = TARGET, token: str | None = TOKEN
) -> None:
    """Episodes received, learned and pending; candidates, kept examples, drops by reason, delay to searchable."""
    _call(_with_client(target, token, "online_stats", dataset))


@app.command("delete")
def delete(
    dataset: str = typer.Argument(..., help="Dataset name."),
    episode: list[str] | None = typer.Option(None, "--episode", help="An episode id (repeatable)."),
    tenant: str = typer.Option("", "--tenant", help="Every episode this tenant reported."),
    target: str = TARGET,
    token: str | None = TOKEN,
) -> None:
    """Delete episodes and every example learned from them."""
    if not episode and not tenant:
        raise typer.BadParameter("name --episode (repeatable) or --tenant")
    _call(_with_client(target, token, "delete_episodes", dataset, episode or [], tenant))
