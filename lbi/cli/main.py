"""Entry point of the `lbi` command: one sub-command group per service, plus the tour."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from lbi.cli import (
    console_cmd,
    datasets_cmd,
    env_cmd,
    episodes_cmd,
    eval_cmd,
    mcp_cmd,
    retrieval_cmd,
    rootfs_cmd,
    serve_cmd,
    synth_cmd,
    tasks_cmd,
    tour,
)
from lbi.config import settings_error

app = typer.Typer(
    help="lbi: Learn-by-interact. Adapt LLM agents to any environment without human labels.", no_args_is_help=True
)
app.add_typer(env_cmd.app, name="env")
app.add_typer(serve_cmd.runner_app, name="runner")
serve_cmd.runner_app.command("build-rootfs")(rootfs_cmd.build_rootfs)
app.add_typer(retrieval_cmd.app, name="retrieval")
app.add_typer(synth_cmd.app, name="synth")
app.command("retrieve")(retrieval_cmd.retrieve)
app.command("up")(serve_cmd.up)
app.command("tour")(tour.tour)
app.add_typer(datasets_cmd.app, name="datasets")
app.add_typer(episodes_cmd.app, name="episodes")
app.add_typer(mcp_cmd.app, name="mcp")
app.add_typer(tasks_cmd.app, name="tasks")
app.command("export")(datasets_cmd.export_command)
app.command("demo")(eval_cmd.demo)
app.command("eval")(eval_cmd.eval_command)
app.command("console")(console_cmd.console)


def main() -> None:
    """The `lbi` command: a bad `LBI_` variable is one line naming it (exit 2), not a traceback."""
    try:
        app()
    except ValidationError as exc:
        message = settings_error(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
