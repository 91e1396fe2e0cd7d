"""`lbi env ...`: look at environments the way an agent sees them."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Coroutine
from typing import Any

import grpc
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lbi.cli.local_runner import runner_client

app = typer.Typer(help="Inspect and try environments (through a real env-runner).", no_args_is_help=True)
console = Console()
RUNNER = typer.Option(None, "--runner", help="env-runner target host:port; default: start one in this process.")


def _config(raw: str) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--config is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("--config must be a JSON object")
    return value


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Runs a command's coroutine; a gRPC error is printed as its status code and details, exit code 1."""
    try:
        asyncio.run(coro)
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]{exc.code().name}[/red]: {escape(exc.details() or '')}")
        raise typer.Exit(1) from None


@app.command("list")
def list_envs(runner: str | None = RUNNER) -> None:
    """The environments a runner hosts, with their action spaces."""

    async def run() -> None:
        async with runner_client(runner) as client:
            envs = await client.list_environments()
        table = Table("name", "description", "action space", "checks (lbi eval)", "notes", show_lines=True)
        for env in envs:
            checks = "\n".join(f"{kind}: {', '.join(fields)}" for kind, fields in env.check_schema.items())
            table.add_row(
                Text(env.name), Text(env.description), Text(env.action_space), Text(checks), Text("\n".join(env.notes))
            )
        console.print(table)

    _run(run())


@app.command("resources")
def resources(
    env: str = typer.Option(..., "--env", help="Environment name."),
    config: str = typer.Option("", "--config", help="Session config as JSON."),
    full: bool = typer.Option(False, "--full", help="Print each resource's whole text."),
    docs: list[str] | None = typer.Option(
        None,
        "--resources",
        help="Documentation files, folders or URLs replacing the environment's own (as `lbi synth run --resources`).",
    ),
    runner: str | None = RUNNER,
) -> None:
    """The resources a synthesis job would use: documentation and what the environment discovers about itself."""
    from lbi.config import CommonSettings
    from lbi.ingest import SourceError, ingest, resources_for_job

    try:
        given = ingest(docs, env, CommonSettings().docs_allowed_hosts) if docs else None
    except SourceError as exc:
        console.print(f"[red]INVALID_ARGUMENT[/red]: --resources: {escape(str(exc))}")
        raise typer.Exit(2) from None

    async def run() -> None:
        async with runner_client(runner) as client:
            found = resources_for_job(await client.resources(env, _config(config)), given)
        for resource in found:
            console.rule(
                f"[bold]{resource.title}[/bold] [dim]{resource.kind} · {resource.uri} · {len(resource.text)} "
                "chars[/dim]"
            )
            console.print(
                resource.text if full else resource.text[:300] + ("…" if len(resource.text) > 300 else ""), markup=False
            )
        kinds = Counter(r.kind for r in found)
        console.print(
            f"[green]{len(found)} resources[/green] ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})"
        )

    _run(run())


@app.command("try")
def try_env(
    env: str = typer.Option(..., "--env", help="Environment name."),
    config: str = typer.Option("", "--config", help="Session config as JSON."),
    runner: str | None = RUNNER,
) -> None:
    """Act in a session yourself: type actions, see what an agent would see. Piped stdin: one action per line."""
    interactive = sys.stdin.isatty()

    def show(text: str, style: str | None = None) -> None:
        """Literally: brackets are not markup, nothing is highlighted, long lines are not wrapped."""
        console.print(Text(text, style=style or ""), soft_wrap=True, highlight=False)

    def next_line(number: int) -> str | None:
        if interactive:
            return input(f"{env}> ")
        raw = sys.stdin.buffer.readline()
        if not raw:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            show(f"error: input line {number} is not UTF-8 ({exc.reason} at byte {exc.start}); skipped", "red")
            return ""

    async def run() -> None:
        async with runner_client(runner) as client:
            session_id, first = await client.open_session(env, _config(config))
            show(first.text)
            try:
                number = 0
                while True:
                    number += 1
                    line = await asyncio.to_thread(next_line, number)
                    if line is None:
                        break
                    action = line.rstrip("\n")
                    if not action.strip():
                        continue
                    if interactive and action.strip() in ("exit", "quit", r"\q"):
                        break
                    if not interactive:
                        show(f"{env}> {action}", "bold cyan")
                    observation = await client.step(session_id, action)
                    show(observation.text, "red" if observation.error else None)
                    if observation.done:
                        show("episode done", "yellow")
                        break
            except EOFError:
                pass
            finally:
                await client.close_session(session_id)

    _run(run())
