"""How well a dataset covers a task set, without a model (`lbi eval --replay K`).

For each task and retrieval mode: retrieve the top K demonstrations for the task's instruction and first
observation, replay each demonstration's actions in a fresh session of the task's config, and judge it with the
task's check. A mode's **coverage@K** is the share of tasks that some replayed demonstration solves; its **MRR** the
mean of 1/rank of the first that does (0 when none does). No LLM is called (query mode searches with the
instruction as its query), so the figures measure synthesis and retrieval alone, beside the agent's success.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc

from lbi.aio import gather_settled
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import RunnerClient
from lbi.evaluation.task_check import SetupError, judged_episode
from lbi.evaluation.tasks import EvalTask

REPLAY_MODES = ("instruction", "observation", "query", "agentic")


@dataclass
class TaskReplay:
    task_id: str
    mode: str
    solved_at: int  # rank (1-based) of the first demonstration that solves the task; 0: none does
    tried: int  # demonstrations replayed
    reason: str = ""  # why the task could not be tried (its session did not open, say)


@dataclass
class ModeCoverage:
    mode: str
    tasks: int
    k: int
    coverage: float  # share of tasks some replayed demonstration solves
    mrr: float
    tried_per_task: float
    unreplayable: int = 0  # tasks whose own session could not be opened
    per_task: list[TaskReplay] = field(default_factory=list)

    def to_dict(self, with_tasks: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not with_tasks:
            data.pop("per_task")
        return data


async def _first_observation(runner: RunnerClient, env: str, config: dict[str, Any]) -> str:
    session, first = await runner.open_session(env, config)
    await runner.close_session(session)
    return first.text


async def replay_task(
    runner: RunnerClient,
    retrieval: AsyncRetrievalClient,
    dataset: str,
    env: str,
    task: EvalTask,
    modes: tuple[str, ...],
    k: int,
    env_config: dict[str, Any],
) -> list[TaskReplay]:
    config = {**env_config, **task.config}
    try:
        observation = await _first_observation(runner, env, config)
    except grpc.aio.AioRpcError as exc:
        reason = f"the task's session did not open: {exc.code().name}: {exc.details()}"
        return [TaskReplay(task.id, mode, 0, 0, reason) for mode in modes]
    replays = []
    for mode in modes:
        queries = [task.instruction] if mode in ("query", "agentic") else []
        found = await retrieval.retrieve(
            dataset, instruction=task.instruction, observation=observation, mode=mode, k=k, queries=queries, envs=[env]
        )
        solved_at, tried = 0, 0
        for rank, example in enumerate(found.examples, start=1):  # agentic: K per mode it combines
            actions = [s.action for s in example.steps]
            if not actions:
                continue
            tried += 1
            try:
                verdict = await judged_episode(runner, env, actions, task.check, config, example.final_observation)
            except (SetupError, grpc.aio.AioRpcError):
                continue
            if verdict.ok and not verdict.check_error:
                solved_at = rank
                break
        replays.append(TaskReplay(task.id, mode, solved_at, tried))
    return replays


async def replay_coverage(
    runner: RunnerClient,
    retrieval: AsyncRetrievalClient,
    dataset: str,
    env: str,
    tasks: list[EvalTask],
    k: int,
    modes: tuple[str, ...] = REPLAY_MODES,
    env_config: dict[str, Any] | None = None,
    concurrency: int = 4,
) -> list[ModeCoverage]:
    """Coverage@K and MRR per mode over the tasks."""
    slots = asyncio.Semaphore(concurrency)

    async def one(task: EvalTask) -> list[TaskReplay]:
        async with slots:
            return await replay_task(runner, retrieval, dataset, env, task, modes, k, env_config or {})

    rows = [r for per_task in await gather_settled(*(one(t) for t in tasks)) for r in per_task]
    out = []
    for mode in modes:
        mine = [r for r in rows if r.mode == mode]
        n = max(1, len(mine))
        out.append(
            ModeCoverage(
                mode=mode,
                tasks=len(mine),
                k=k,
                coverage=round(sum(1 for r in mine if r.solved_at) / n, 4),
                mrr=round(sum(1 / r.solved_at for r in mine if r.solved_at) / n, 4),
                tried_per_task=round(sum(r.tried for r in mine) / n, 2),
                unreplayable=sum(1 for r in mine if r.reason),
                per_task=mine,
            )
        )
    return out
