"""The online loop, measured: the agent runs a task set in rounds with retrieval; after each round but the last,
its own episodes of that round are reported (outcome from the runner's verdict), and the next round starts once
the dataset's online job has learned them. Used by `lbi demo` (its third part) and `bench/online.py`.

The task set must be separate from the documentation the dataset was synthesized from (the evaluation tasks
are). With the offline backend the figures measure its documented deterministic policy, not a model.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Any

from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import Judgement, RunnerClient
from lbi.evaluation.harness import Harness
from lbi.evaluation.tasks import EvalTask, load_tasks
from lbi.llm.gateway import LLMGateway
from lbi.records import Trajectory


async def _learned(retrieval: AsyncRetrievalClient, dataset: str, received: int, timeout_s: float):
    """The online stats once every reported episode is learned (TimeoutError past `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = await retrieval.online_stats(dataset)
        if stats.episodes_received >= received and stats.episodes_pending == 0:
            return stats
        if time.monotonic() > deadline:
            raise TimeoutError(f"{stats.episodes_pending} episodes still not learned after {timeout_s:g}s")
        await asyncio.sleep(0.1)


async def online_rounds(
    runner_target: str,
    retrieval_target: str,
    env: str,
    dataset: str,
    tasks_file: Path,
    rounds: int = 2,
    mode: str = "agentic",
    max_steps: int = 10,
    model: str | None = None,
    learn_timeout_s: float = 600.0,
) -> dict[str, Any]:
    """{"rounds": [{"tasks", "success"}...], "episodes_reported", "learned_examples", "delay_p50_s", "delay_p99_s"}."""
    tasks = load_tasks(tasks_file)
    tag = uuid.uuid4().hex[:8]  # episode ids unique to this run (a rerun reports new episodes, not duplicates)
    episodes: list[tuple[EvalTask, Trajectory, Judgement]] = []
    async with RunnerClient(runner_target) as runner, AsyncRetrievalClient(retrieval_target, timeout_s=30) as retrieval:
        described = {e.name: e for e in await runner.list_environments()}
        before = await retrieval.online_stats(dataset)
        if not before.accepting:
            raise ValueError(f"dataset {dataset!r} does not accept episodes: enable it in the online policy file")
        harness = Harness(
            LLMGateway(),
            runner,
            retrieval,
            env,
            dataset,
            described[env].action_space,
            max_steps,
            model,
            on_episode=lambda task, _, trajectory, judgement: episodes.append((task, trajectory, judgement)),
        )
        out: dict[str, Any] = {"rounds": [], "episodes_reported": 0}
        stats = before
        for number in range(1, rounds + 1):
            episodes.clear()
            summary, _ = await harness.run_mode(tasks, mode)
            out["rounds"].append({"tasks": summary.tasks, "success": summary.success_rate})
            if number == rounds:
                break
            for task, trajectory, judgement in episodes:
                if not trajectory.steps:
                    continue
                outcome = "unknown" if judgement.check_error else ("success" if judgement.ok else "failure")
                await retrieval.report_episode(
                    dataset,
                    f"{tag}-r{number}-" + re.sub(r"[^A-Za-z0-9_.:-]", "-", task.id)[:100],
                    task.instruction,
                    trajectory.steps,
                    trajectory.final_observation,
                    outcome,
                    env=env,
                )
                out["episodes_reported"] += 1
            stats = await _learned(
                retrieval, dataset, before.episodes_received + out["episodes_reported"], learn_timeout_s
            )
        out["learned_examples"] = stats.examples_kept - before.examples_kept
        out["delay_p50_s"], out["delay_p99_s"] = stats.delay_p50_s, stats.delay_p99_s
        out["dropped"] = dict(stats.dropped)
    return out
