"""Runs the agent on evaluation tasks in each retrieval mode, and measures what the paper's tables report.

Modes: `none` (no demonstrations), `instruction` (plain RAG: demonstrations retrieved once by the task),
`observation` (every step, by the current observation), `query` (every step, by queries the agent's LLM
writes from task, history and observation), `agentic` (observation + query, the paper's method).
Per mode: success rate, mean steps, LLM calls and tokens per task, retrieval latency p50/p99 as the
agent sees it, wall time.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lbi.agent import Task, run_episode
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import RunnerClient
from lbi.evaluation.checks import run_check
from lbi.evaluation.tasks import EvalTask
from lbi.llm.gateway import LLMError, LLMGateway
from lbi.llm.roles import Role
from lbi.metrics import percentile
from lbi.records import Step

MODES = ("none", "instruction", "observation", "query", "agentic")
PROMPT_BUDGET = 6000


@dataclass
class TaskResult:
    task_id: str
    mode: str
    success: bool
    reason: str
    steps: int
    llm_calls: int
    tokens: int
    retrieval_ms: list[float] = field(default_factory=list)


@dataclass
class ModeSummary:
    mode: str
    tasks: int
    success_rate: float
    mean_steps: float
    llm_calls_per_task: float
    tokens_per_task: float
    retrieval_p50_ms: float
    retrieval_p99_ms: float
    wall_seconds: float


class _CountingGateway:
    """The agent's gateway for one task: counts that task's LLM calls and tokens (tasks run concurrently)."""

    def __init__(self, gateway: LLMGateway):
        self.gateway = gateway
        self.calls = 0
        self.tokens = 0

    async def call(self, role: Role, inputs: dict[str, Any], model: str | None = None):
        result = await self.gateway.call(role, inputs, model=model)
        self.calls += result.attempts
        self.tokens += result.prompt_tokens + result.completion_tokens
        return result


class Harness:
    def __init__(self, gateway: LLMGateway, runner: RunnerClient, retrieval: AsyncRetrievalClient | None, env: str,
                 dataset: str, action_space: str, max_steps: int = 10, model: str | None = None, k: int = 5,
                 check_context: dict[str, Any] | None = None, concurrency: int = 4):
        self.gateway, self.runner, self.retrieval = gateway, runner, retrieval
        self.env, self.dataset, self.action_space = env, dataset, action_space
        self.max_steps, self.model, self.k = max_steps, model, k
        self.check_context = check_context or {}
        self.concurrency = concurrency

    async def _queries(self, gateway: _CountingGateway, task: EvalTask, history: list[Step], observation: str) -> list[str]:
        result = await gateway.call(Role.QUERY, {
            "env": self.env, "task": task.instruction, "history": [s.to_dict() for s in history[-5:]], "observation": observation,
        }, model=self.model)
        return result.output.queries

    def _demonstrations(self, gateway: _CountingGateway, task: EvalTask, mode: str, latencies: list[float]):
        if mode == "none" or self.retrieval is None:
            return None
        once: dict[str, str] = {}

        async def fetch(history: list[Step], observation: str) -> str:
            if mode == "instruction" and "block" in once:
                return once["block"]
            kwargs: dict[str, Any] = {"instruction": task.instruction, "observation": observation, "history": history[-5:],
                                      "mode": mode, "k": self.k, "envs": [self.env], "prompt_budget_chars": PROMPT_BUDGET}
            if mode in ("query", "agentic"):
                kwargs["queries"] = await self._queries(gateway, task, history, observation)
            started = time.perf_counter()
            result = await self.retrieval.retrieve(self.dataset, **kwargs)
            latencies.append((time.perf_counter() - started) * 1000)
            once["block"] = result.prompt_block
            return result.prompt_block

        return fetch

    async def run_task(self, task: EvalTask, mode: str) -> TaskResult:
        latencies: list[float] = []
        gateway = _CountingGateway(self.gateway)
        try:
            trajectory = await run_episode(
                gateway, self.runner, self.env, self.action_space, Task(task.id, task.instruction),
                max_steps=self.max_steps, env_config=task.config, model=self.model,
                demonstrations=self._demonstrations(gateway, task, mode, latencies),
            )
            verdict = run_check(task.check, trajectory, **self.check_context)
            success, reason, steps = verdict.ok, verdict.reason, len(trajectory.steps)
        except LLMError as exc:
            success, reason, steps = False, f"LLM failed: {exc.reason}", 0
        return TaskResult(task.id, mode, success, reason, steps, gateway.calls, gateway.tokens, latencies)

    async def run_mode(self, tasks: list[EvalTask], mode: str) -> tuple[ModeSummary, list[TaskResult]]:
        started = time.monotonic()
        slots = asyncio.Semaphore(self.concurrency)

        async def one(task: EvalTask) -> TaskResult:
            async with slots:
                return await self.run_task(task, mode)

        results = await asyncio.gather(*(one(t) for t in tasks))
        latencies = [ms for r in results for ms in r.retrieval_ms]
        n = max(1, len(results))
        summary = ModeSummary(
            mode=mode, tasks=len(results), success_rate=round(sum(r.success for r in results) / n, 4),
            mean_steps=round(statistics.fmean([r.steps for r in results]) if results else 0.0, 2),
            llm_calls_per_task=round(sum(r.llm_calls for r in results) / n, 2),
            tokens_per_task=round(sum(r.tokens for r in results) / n, 1),
            retrieval_p50_ms=round(percentile(latencies, 50), 2), retrieval_p99_ms=round(percentile(latencies, 99), 2),
            wall_seconds=round(time.monotonic() - started, 2),
        )
        return summary, list(results)


def default_check_context(env: str, data_dir: Path, task_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """What an environment's checks need: for sql, the database the tasks run on."""
    if env == "sql":
        from env_runners.sql import sample_db

        database = (task_config or {}).get("database")
        return {"database": Path(database) if database else sample_db.ensure(data_dir)}
    return {}
