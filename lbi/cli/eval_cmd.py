"""`lbi eval` and `lbi demo`: the agent with and without retrieved demonstrations, the paper's tables."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import grpc
import typer
from rich.console import Console
from rich.markup import escape

from env_runners.registry import builtin_tasks
from lbi.cli.local_stack import local_stack
from lbi.cli.synth_cmd import print_stats, run_with_progress
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import RunnerClient
from lbi.evaluation import report
from lbi.evaluation.harness import MODES, Harness, TaskResult, summarise
from lbi.evaluation.online_rounds import online_rounds
from lbi.evaluation.task_check import check_tasks
from lbi.evaluation.tasks import EvaluationInputError, check_kinds, load_tasks
from lbi.evaluation.traveling import files_dir
from lbi.llm.gateway import LLMGateway

console = Console(width=None if sys.stdout.isatty() else 140)


def _modes(raw: str) -> list[str]:
    modes = [m.strip() for m in raw.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise typer.BadParameter(f"--modes takes a comma-separated subset of {', '.join(MODES)}")
    return modes


class EvaluationInterrupted(Exception):
    """Ctrl-C during a run: the finished tasks' results were written."""

    def __init__(self, run: Path, finished: int):
        super().__init__(f"interrupted; {finished} finished tasks written to {run}")
        self.run = run


def _config(raw: str) -> dict:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EvaluationInputError(f"--config is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise EvaluationInputError("--config must be a JSON object of the session config")
    return value


async def _check_config(runner: RunnerClient, env: str, env_config: dict) -> None:
    try:
        session_id, _ = await runner.open_session(env, env_config)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        raise EvaluationInputError(f"--config is refused by the {env} environment: {exc.details()}") from None
    await runner.close_session(session_id)


async def evaluate(
    runner_target: str,
    retrieval_target: str,
    env: str,
    dataset: str,
    tasks_file: Path,
    modes: list[str],
    max_steps: int,
    model: str | None,
    out_base: Path,
    plot: bool,
    quiet: bool = False,
    env_config: dict | None = None,
) -> dict:
    """Runs every task in every mode into a new run folder under `out_base`; bad input fails before anything runs.
    `env_config` is the session config under each task's own (`--config`); a session of it is opened first, so a
    config the runner refuses (a bad database URL, say) fails the run at once."""
    tasks = load_tasks(tasks_file)
    gateway = LLMGateway()
    async with (
        RunnerClient(runner_target, files_dir=files_dir(tasks_file)) as runner,
        AsyncRetrievalClient(retrieval_target, timeout_s=30) as retrieval,
    ):
        described = {e.name: e for e in await runner.list_environments()}
        if env not in described:
            raise EvaluationInputError(f"the runner has no environment {env!r} (it has {', '.join(sorted(described))})")
        check_kinds(tasks, set(described[env].check_schema), env, tasks_file)
        if env_config:
            await _check_config(runner, env, env_config)
        if any(m != "none" for m in modes):
            try:
                await retrieval.describe_dataset(dataset)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                raise EvaluationInputError(
                    f"--dataset {dataset!r} does not exist (synthesize it with `lbi synth run --dataset "
                    f"{dataset}`), and modes other than none retrieve from it"
                ) from None
        harness = Harness(
            gateway,
            runner,
            retrieval,
            env,
            dataset,
            described[env].action_space,
            max_steps,
            model,
            env_config=env_config,
        )
        # a task file of the user's own that carries solutions: mark the tasks `lbi tasks check` would flag (the
        # environments' own task sets are checked by the test suite)
        flags: dict[str, str] = {}
        if tasks_file != builtin_tasks(env) and any(t.solution for t in tasks):
            checked = await check_tasks(runner, env, [t for t in tasks if t.solution], env_config or {})
            flags = {f.task_id: f"{f.reason}: {f.detail}" for f in checked}
        run = report.new_run(out_base)
        log = report.TaskLog(run)
        model_name = model or gateway.settings.llm_model
        meta = {
            "env": env,
            "dataset": dataset,
            "model": model_name,
            "tasks_file": str(tasks_file),
            "run": str(run),
            "offline_policy": model_name.startswith("offline/"),
            "flagged_tasks": flags,
        }
        summaries, results = [], []
        started = time.monotonic()
        try:
            for mode in modes:
                if not quiet:
                    console.print(f"evaluating mode [bold]{mode}[/bold] on {len(tasks)} tasks")
                finished: list[TaskResult] = []
                mode_started = time.monotonic()

                def on_result(result: TaskResult, finished: list[TaskResult] = finished) -> None:
                    result.flagged = flags.get(result.task_id, "")
                    finished.append(result)
                    log(result)

                try:
                    summary, task_results = await harness.run_mode(tasks, mode, on_result=on_result)
                except asyncio.CancelledError:
                    summaries.append(summarise(mode, finished, time.monotonic() - mode_started))
                    results += finished
                    raise
                summaries.append(summary)
                results += task_results
        except (asyncio.CancelledError, KeyboardInterrupt):
            report.write(
                run,
                summaries,
                results,
                {**meta, "interrupted": True, "wall_seconds": round(time.monotonic() - started, 2)},
            )
            raise EvaluationInterrupted(run, len(results)) from None
    title = f"{env} · {len(tasks)} tasks · dataset {dataset} · model {model_name}"
    data = report.write(run, summaries, results, {**meta, "interrupted": False})
    if plot:
        report.plot(run / "results.png", summaries, title)
    if not quiet:
        console.print(report.rich_table(summaries, title))
        if meta["offline_policy"]:
            console.print(
                "[dim]offline backend: these figures measure its documented deterministic policy, not a model[/dim]"
            )
        errors = [r for r in results if r.status == "error"]
        for result in errors[:10]:
            console.print(f"[yellow]no verdict[/yellow] {result.task_id} ({result.mode}): {escape(result.reason)}")
        for task_id, flag in list(flags.items())[:10]:
            console.print(f"[yellow]flagged task[/yellow] {task_id} (`lbi tasks check`): {escape(flag)}")
        console.print(
            f"[dim]written to {run}/ (results.json, results.md, tasks.jsonl{', results.png' if plot else ''}); "
            f"{out_base}/latest points at it[/dim]"
        )
    return data


def eval_command(
    env: str = typer.Option("sql", "--env", help="Environment."),
    dataset: str = typer.Option(..., "--dataset", help="Dataset to retrieve demonstrations from."),
    tasks: Path | None = typer.Option(None, "--tasks", help="JSONL task file (default: the environment's own)."),
    config: str = typer.Option(
        "",
        "--config",
        help='Session config as JSON under each task\'s own (sql: {"url": "postgresql://agent:${PW}@host/db"}).',
    ),
    model: str | None = typer.Option(None, "--model", help="litellm model of the agent (default LBI_LLM_MODEL)."),
    modes: str = typer.Option(",".join(MODES), "--modes", help="Comma-separated modes."),
    max_steps: int = typer.Option(10, "--max-steps", help="Most actions per task."),
    runner: str = typer.Option("", "--runner", help="env-runner target; default: started in this process."),
    retrieval: str = typer.Option("", "--retrieval", help="retrieval target; default: started in this process."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder of the runs (default DATA_DIR/eval/DATASET); each run gets its own."
    ),
    plot: bool = typer.Option(False, "--plot", help="Also write a PNG bar chart of success and cost per mode."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
    replay: int = typer.Option(
        0,
        "--replay",
        min=0,
        help="Instead of the agent: replay the top K demonstrations of each mode per task and report coverage@K "
        "and MRR (no model is called).",
    ),
) -> None:
    """Run the agent on evaluation tasks in each mode and print the paper-style table.

    Exit code: 0 when every task got a verdict, 1 when some ended without one (the reasons are listed), 2 for
    bad input (nothing is run or written), 130 when interrupted (finished tasks are written)."""
    chosen = _modes(modes)
    try:
        tasks_file = tasks or builtin_tasks(env)
        load_tasks(tasks_file)  # fail on a bad file before any service starts
        env_config = _config(config)
    except EvaluationInputError as exc:
        console.print(f"[red]INVALID_ARGUMENT[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None

    async def main() -> dict:
        from synth_service.config import SynthSettings

        if replay:
            from lbi.cli.replay_cmd import replay as replay_run

            args = (env, dataset, tasks_file, chosen, replay, env_config, as_json)
            if runner and retrieval:
                return await replay_run(runner, retrieval, *args)
            async with local_stack() as stack:
                return await replay_run(runner or stack.runner_target, retrieval or stack.retrieval_target, *args)
        out_base = out or SynthSettings().data_dir / "eval" / dataset
        rest = (env, dataset, tasks_file, chosen, max_steps, model, out_base, plot, as_json, env_config)
        if runner and retrieval:
            return await evaluate(runner, retrieval, *rest)
        async with local_stack() as stack:
            return await evaluate(runner or stack.runner_target, retrieval or stack.retrieval_target, *rest)

    try:
        data = asyncio.run(main())
    except EvaluationInputError as exc:
        console.print(f"[red]INVALID_ARGUMENT[/red]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (EvaluationInterrupted, KeyboardInterrupt) as exc:
        console.print(f"[yellow]{escape(str(exc) or 'interrupted')}[/yellow]")
        raise typer.Exit(130) from None
    except grpc.aio.AioRpcError as exc:
        console.print(f"[red]{exc.code().name}[/red]: {escape(exc.details() or '')}")
        raise typer.Exit(1) from None
    if replay:
        return
    if as_json:
        print(json.dumps({k: v for k, v in data.items() if k != "tasks"}))
    if any(t["status"] == "error" for t in data["tasks"]):
        raise typer.Exit(1)


def _demo_policy(dataset: str) -> str:
    """An online policy file (in the data directory) letting the demo's dataset learn from its episodes."""
    import yaml

    from lbi.config import CommonSettings

    path = CommonSettings().data_dir / "online-demo.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"datasets": {dataset: {"accept_episodes": True, "env": "sql"}}}))
    return str(path)


def demo(
    dataset: str = typer.Option("sql-demo", "--dataset", help="Dataset to synthesize (reused when it exists)."),
    modes: str = typer.Option(",".join(MODES), "--modes", help="Comma-separated evaluation modes."),
    max_steps: int = typer.Option(10, "--max-steps", help="Most actions per task."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Write a PNG chart of the evaluation."),
    online: bool = typer.Option(
        True, "--online/--no-online", help="Then run the tasks twice, learning online from round 1."
    ),
) -> None:
    """The main job: synthesize a dataset for `sql` from its docs, evaluate the agent with and without it, then let it
    learn online from its own episodes."""
    from synth_service.spec import spec_from_dict

    chosen = _modes(modes)
    started = time.monotonic()

    async def main() -> None:
        async with local_stack(_demo_policy(dataset) if online else "") as stack:
            console.rule(
                "[bold]1. Synthesis[/bold]: documentation → tasks → rollouts → backward construction → filter → Qdrant"
            )
            spec = spec_from_dict({"env": "sql", "dataset": dataset})
            job = await run_with_progress(stack.engine, stack.engine.create(spec), show=True)
            print_stats({**job, "stats": job["stats"].to_dict()})
            console.rule(
                "[bold]2. Evaluation[/bold]: the agent on held-out tasks, with and without retrieved demonstrations"
            )
            await evaluate(
                stack.runner_target,
                stack.retrieval_target,
                "sql",
                dataset,
                builtin_tasks("sql"),
                chosen,
                max_steps,
                None,
                stack.settings.data_dir / "eval" / dataset,
                plot,
            )
            if online:
                console.rule("[bold]3. Online adaptation[/bold]: round 1 → its episodes reported and learned → round 2")
                result = await online_rounds(
                    stack.runner_target,
                    stack.retrieval_target,
                    "sql",
                    dataset,
                    builtin_tasks("sql"),
                    max_steps=max_steps,
                )
                for number, round_ in enumerate(result["rounds"], 1):
                    console.print(f"round {number} (agentic): {round_['success']:.1%} of {round_['tasks']} tasks")
                console.print(
                    f"{result['episodes_reported']} episodes reported, {result['learned_examples']} examples learned "
                    f"(dropped: {result['dropped']}); searchable {result['delay_p50_s']:.1f}s after the report "
                    f"(p50), {result['delay_p99_s']:.1f}s (p99)"
                )
                if stack.engine.gateway.settings.llm_model.startswith("offline/"):
                    console.print(
                        "[dim]offline backend: these figures measure its documented deterministic policy, not a "
                        "model[/dim]"
                    )

    asyncio.run(main())
    console.print(f"demo finished in {time.monotonic() - started:.0f}s")
