"""`lbi tasks`: bring your own benchmark. `import` converts a public task set into lbi's task lines; `check` runs
every task's reference solution and an empty episode in fresh sessions and flags the tasks that are not sound."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lbi.evaluation.importers import FORMATS, TaskImportError, convert
from lbi.evaluation.tasks import EvaluationInputError, load_tasks
from lbi.evaluation.traveling import files_dir, store

console = Console(stderr=True)
app = typer.Typer(help="Task sets: import public benchmarks, check them before trusting them.", no_args_is_help=True)


@app.command("import")
def import_tasks(
    fmt: str = typer.Argument(..., metavar="FORMAT", help=f"One of: {', '.join(FORMATS)}."),
    path: Path = typer.Argument(..., help="The task file (or folder of task files) in that format."),
    out: Path = typer.Option(..., "--out", help="The lbi task file (JSONL) to write."),
    databases: Path | None = typer.Option(
        None, "--databases", help="spider, bird: the folder of <db_id>/<db_id>.sqlite."
    ),
    setup: Path | None = typer.Option(None, "--setup", help="intercode-bash: the setup script of the task file."),
    repos: Path | None = typer.Option(None, "--repos", help="swe-bench: a folder with a git checkout per repository."),
    sites: str = typer.Option("", "--sites", help='webarena: JSON (or a file) mapping "__SITE__" to its URL.'),
    files: Path | None = typer.Option(
        None, "--files", help="osworld: the files its tasks download (OSWorld's cache folder, or a flat folder)."
    ),
    index: Path | None = typer.Option(
        None, "--index", help="osworld, spider2v: a test_all.json-style index of the tasks (family -> ids)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (written, refused) as the last line."),
) -> None:
    """Convert a public task set; what a task cannot express is refused per task, naming the field and the reason.

    Exit code: 0 when something was written, 2 for unreadable input or when no task could be converted."""
    options = {"databases": databases, "setup": setup, "repos": repos, "sites": sites, "files": files, "index": index}
    try:
        converted = convert(fmt, path, options)
    except (TaskImportError, OSError) as exc:
        console.print(f"[red]INVALID_ARGUMENT[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    if converted.tasks:
        out.parent.mkdir(parents=True, exist_ok=True)
        for source in converted.files.values():  # beside the task file, by sha256 (lbi.evaluation.traveling)
            store(files_dir(out), source)
        out.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in converted.tasks), encoding="utf-8")
    for refusal in converted.refused[:20]:
        console.print(f"[yellow]refused[/yellow] {escape(refusal.task_id)}: {refusal.field}: {escape(refusal.reason)}")
    if len(converted.refused) > 20:
        console.print(f"[yellow]... and {len(converted.refused) - 20} more refused[/yellow]")
    console.print(f"{len(converted.tasks)} tasks written to {out}, {len(converted.refused)} refused")
    if as_json:
        refused = [{"id": r.task_id, "field": r.field, "reason": r.reason} for r in converted.refused]
        print(json.dumps({"written": len(converted.tasks), "out": str(out), "refused": refused}))
    if not converted.tasks:
        raise typer.Exit(2)


@app.command("check")
def check(
    tasks_file: Path = typer.Argument(..., metavar="TASKS", help="An lbi task file (JSONL)."),
    env: str = typer.Option("", "--env", help="Environment (default: each task's own `env`, else sql)."),
    config: str = typer.Option("", "--config", help="Session config as JSON under each task's own."),
    runner: str = typer.Option("", "--runner", help="env-runner target; default: started in this process."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, help="Tasks checked at once."),
    timeout_s: float = typer.Option(600.0, "--timeout", help="Longest one episode (gold or empty) may take."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (total, passed, flagged) last."),
) -> None:
    """Run every task's reference solution and an empty episode in fresh sessions: the solution must pass its check
    and doing nothing must fail it. Exit code: 0 when every task is sound, 1 when some are flagged, 2 for bad input."""
    from lbi.cli.eval_cmd import _config
    from lbi.cli.local_runner import runner_client
    from lbi.evaluation.task_check import check_tasks

    try:
        tasks = load_tasks(tasks_file)
        env_config = _config(config)
    except EvaluationInputError as exc:
        console.print(f"[red]INVALID_ARGUMENT[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None

    async def main():
        async with runner_client(runner or None) as client:
            client.files_dir = files_dir(tasks_file)
            return await check_tasks(client, env or None, tasks, env_config, concurrency, timeout_s)

    try:
        flags = asyncio.run(main())
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]{exc.code().name}[/red]: {escape(exc.details() or '')}")
        raise typer.Exit(2) from None
    if flags:
        table = Table("task", "reason", "detail", title=f"{len(flags)} of {len(tasks)} tasks flagged")
        for flag in flags:
            table.add_row(escape(flag.task_id), flag.reason, escape(flag.detail[:200]))
        console.print(table)
    else:
        console.print(f"all {len(tasks)} tasks sound: each reference solution passes, each empty episode fails")
    if as_json:
        print(
            json.dumps(
                {"total": len(tasks), "passed": len(tasks) - len(flags), "flagged": [f.to_dict() for f in flags]}
            )
        )
    if flags:
        raise typer.Exit(1)
