"""`lbi eval` and `lbi demo`: the agent with and without retrieved demonstrations, the paper's tables."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from lbi.cli.local_stack import local_stack
from lbi.cli.synth_cmd import print_stats, run_with_progress
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import RunnerClient
from lbi.evaluation import report
from lbi.evaluation.harness import MODES, Harness, default_check_context
from lbi.evaluation.tasks import builtin_tasks, load_tasks
from lbi.llm.gateway import LLMGateway

console = Console(width=None if sys.stdout.isatty() else 140)


def _modes(raw: str) -> list[str]:
    modes = [m.strip() for m in raw.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise typer.BadParameter(f"--modes takes a comma-separated subset of {', '.join(MODES)}")
    return modes


async def evaluate(runner_target: str, retrieval_target: str, env: str, dataset: str, tasks_file: Path, modes: list[str],
                   max_steps: int, model: str | None, data_dir: Path, out_dir: Path, plot: bool, quiet: bool = False) -> dict:
    tasks = load_tasks(tasks_file)
    gateway = LLMGateway()
    async with RunnerClient(runner_target) as runner, AsyncRetrievalClient(retrieval_target, timeout_s=30) as retrieval:
        action_space = next(e.action_space for e in await runner.list_environments() if e.name == env)
        harness = Harness(gateway, runner, retrieval, env, dataset, action_space, max_steps, model,
                          check_context=default_check_context(env, data_dir))
        summaries, results = [], []
        for mode in modes:
            if not quiet:
                console.print(f"evaluating mode [bold]{mode}[/bold] on {len(tasks)} tasks")
            summary, task_results = await harness.run_mode(tasks, mode)
            summaries.append(summary)
            results += task_results
    title = f"{env} · {len(tasks)} tasks · dataset {dataset} · model {model or gateway.settings.llm_model}"
    data = report.write(out_dir, summaries, results, {"env": env, "dataset": dataset, "model": model or gateway.settings.llm_model,
                                                      "tasks_file": str(tasks_file)})
    if plot:
        report.plot(out_dir / "results.png", summaries, title)
    if not quiet:
        console.print(report.rich_table(summaries, title))
        console.print(f"[dim]written to {out_dir}/results.json, results.md{', results.png' if plot else ''}[/dim]")
    return data


def eval_command(
    env: str = typer.Option("sql", "--env", help="Environment."),
    dataset: str = typer.Option(..., "--dataset", help="Dataset to retrieve demonstrations from."),
    tasks: Optional[Path] = typer.Option(None, "--tasks", help="JSONL task file (default: the environment's own)."),
    model: Optional[str] = typer.Option(None, "--model", help="litellm model of the agent (default LBI_LLM_MODEL)."),
    modes: str = typer.Option(",".join(MODES), "--modes", help="Comma-separated modes."),
    max_steps: int = typer.Option(10, "--max-steps", help="Most actions per task."),
    runner: str = typer.Option("", "--runner", help="env-runner target; default: started in this process."),
    retrieval: str = typer.Option("", "--retrieval", help="retrieval target; default: started in this process."),
    out: Optional[Path] = typer.Option(None, "--out", help="Results folder (default DATA_DIR/eval/DATASET)."),
    plot: bool = typer.Option(False, "--plot", help="Also write a PNG bar chart of success and cost per mode."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
) -> None:
    """Run the agent on evaluation tasks in each mode and print the paper-style table."""
    chosen = _modes(modes)
    tasks_file = tasks or builtin_tasks(env)

    async def main() -> dict:
        from synth_service.config import SynthSettings

        data_dir = SynthSettings().data_dir
        out_dir = out or data_dir / "eval" / dataset
        if runner and retrieval:
            return await evaluate(runner, retrieval, env, dataset, tasks_file, chosen, max_steps, model, data_dir, out_dir, plot, as_json)
        async with local_stack() as stack:
            return await evaluate(runner or stack.runner_target, retrieval or stack.retrieval_target, env, dataset, tasks_file,
                                  chosen, max_steps, model, data_dir, out_dir, plot, as_json)

    data = asyncio.run(main())
    if as_json:
        print(json.dumps({k: v for k, v in data.items() if k != "tasks"}))


def demo(
    dataset: str = typer.Option("sql-demo", "--dataset", help="Dataset to synthesize (reused when it exists)."),
    modes: str = typer.Option(",".join(MODES), "--modes", help="Comma-separated evaluation modes."),
    max_steps: int = typer.Option(10, "--max-steps", help="Most actions per task."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Write a PNG chart of the evaluation."),
) -> None:
    """The main job: synthesize a dataset for `sql` from its docs, then evaluate the agent with and without it."""
    from synth_service.spec import spec_from_dict

    chosen = _modes(modes)
    started = time.monotonic()

    async def main() -> None:
        async with local_stack() as stack:
            console.rule("[bold]1. Synthesis[/bold]: documentation → tasks → rollouts → backward construction → filter → Qdrant")
            spec = spec_from_dict({"env": "sql", "dataset": dataset})
            job = await run_with_progress(stack.engine, stack.engine.create(spec), show=True)
            print_stats({**job, "stats": job["stats"].to_dict()})
            console.rule("[bold]2. Evaluation[/bold]: the agent on held-out tasks, with and without retrieved demonstrations")
            await evaluate(stack.runner_target, stack.retrieval_target, "sql", dataset, builtin_tasks("sql"), chosen, max_steps,
                           None, stack.settings.data_dir, stack.settings.data_dir / "eval" / dataset, plot)

    asyncio.run(main())
    console.print(f"demo finished in {time.monotonic() - started:.0f}s")
