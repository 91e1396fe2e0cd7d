"""`lbi eval --replay K`: coverage@K and MRR of a dataset on a task set, per retrieval mode, without a model
(lbi/evaluation/replay.py)."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
from rich.console import Console
from rich.table import Table

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import RunnerClient
from lbi.evaluation.replay import REPLAY_MODES, replay_coverage
from lbi.evaluation.tasks import EvaluationInputError, load_tasks

console = Console(stderr=True)


async def replay(
    runner_target: str,
    retrieval_target: str,
    env: str,
    dataset: str,
    tasks_file: Path,
    modes: list[str],
    k: int,
    env_config: dict,
    as_json: bool,
) -> dict:
    tasks = load_tasks(tasks_file)
    chosen = tuple(m for m in modes if m in REPLAY_MODES) or REPLAY_MODES
    async with RunnerClient(runner_target) as runner, AsyncRetrievalClient(retrieval_target, timeout_s=30) as retrieval:
        try:
            await retrieval.describe_dataset(dataset)
        except grpc.aio.AioRpcError as exc:
            raise EvaluationInputError(exc.details() or f"no dataset {dataset!r}") from None
        coverage = await replay_coverage(runner, retrieval, dataset, env, tasks, k, chosen, env_config)
    table = Table(
        "mode", f"coverage@{k}", "MRR", "replayed per task", "unreplayable", title=f"{dataset} on {tasks_file}"
    )
    for mode in coverage:
        table.add_row(
            mode.mode, f"{mode.coverage:.1%}", f"{mode.mrr:.3f}", f"{mode.tried_per_task:g}", str(mode.unreplayable)
        )
    console.print(table)
    console.print("[dim]no model was called: each demonstration's own actions were replayed and judged[/dim]")
    data = {"dataset": dataset, "env": env, "k": k, "modes": [m.to_dict(with_tasks=False) for m in coverage]}
    if as_json:
        print(json.dumps(data))
    return data
