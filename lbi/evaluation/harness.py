"""Runs the agent on evaluation tasks in each retrieval mode, and measures what the paper's tables report.

Modes: `none` (no demonstrations), `instruction` (plain RAG: demonstrations retrieved once by the task),
`observation` (every step, by the current observation), `query` (every step, by queries the agent's LLM
writes from task, history and observation), `agentic` (observation + query, the paper's method).
Per mode: success rate, mean steps, LLM calls and tokens per task, retrieval latency p50/p99 as the
agent sees it, wall time.

The runner judges every episode where the environment lives (a `Judge` call on the session before it
closes). Every task ends with a verdict (`passed`/`failed`) or an `error` with its reason: a refused config,
an invalid check, a check that could not be computed (its gold query failed), a runner error, the task
timeout, the LLM failing. One task's failure never stops the others; results are handed out as each task ends.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from lbi.agent import Task, run_judged_episode
from lbi.aio import gather_settled
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.clients.runner import Judgement, RunnerClient
from lbi.evaluation.tasks import EvalTask
from lbi.llm.gateway import LLMError, LLMGateway
from lbi.llm.roles import Role
from lbi.metrics import percentile
from lbi.records import Step, Trajectory

MODES = ("none", "instruction", "observation", "query", "agentic")
PROMPT_BUDGET = 6000
log = logging.getLogger(__name__)
_REFUSED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND)


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
    status: str = "failed"  # passed | failed (verdicts) | error (no verdict: the reason says why)
    flagged: str = ""  # what `lbi tasks check` finds wrong with the task itself (its solution fails, ...)
    # The episode: the task's instruction, each step's observation (cut at EPISODE_TEXT characters), action and
    # error, and the final observation; empty when no episode ran.
    episode: dict[str, Any] = field(default_factory=dict)


EPISODE_TEXT = 8000


def episode_record(instruction: str, trajectory: Any) -> dict[str, Any]:
    """What a result keeps of its episode (results.json, the console's evaluation page)."""
    return {
        "instruction": instruction,
        "steps": [
            {"observation": s.observation[:EPISODE_TEXT], "action": s.action, "error": s.error}
            for s in trajectory.steps
        ],
        "final_observation": trajectory.final_observation[:EPISODE_TEXT],
    }


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
    errors: int = 0  # tasks that ended without a verdict


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
    def __init__(
        self,
        gateway: LLMGateway,
        runner: RunnerClient,
        retrieval: AsyncRetrievalClient | None,
        env: str,
        dataset: str,
        action_space: str,
        max_steps: int = 10,
        model: str | None = None,
        k: int = 5,
        concurrency: int = 4,
        task_timeout_s: float = 900.0,
        env_config: dict[str, Any] | None = None,
        on_episode: Callable[[EvalTask, str, Trajectory, Judgement], Awaitable[None] | None] | None = None,
    ):
        self.gateway, self.runner, self.retrieval = gateway, runner, retrieval
        self.env_config = env_config or {}  # under every task's own config (a database URL, say)
        self.env, self.dataset, self.action_space = env, dataset, action_space
        self.max_steps, self.model, self.k = max_steps, model, k
        self.concurrency = concurrency
        self.task_timeout_s = task_timeout_s
        self.on_episode = on_episode  # sees every judged episode (online rounds report them)

    async def _queries(
        self, gateway: _CountingGateway, task: EvalTask, history: list[Step], observation: str
    ) -> list[str]:
        result = await gateway.call(
            Role.QUERY,
            {
                "env": self.env,
                "task": task.instruction,
                "history": [s.to_dict() for s in history[-5:]],
                "observation": observation,
            },
            model=self.model,
        )
        return result.output.queries

    def _demonstrations(self, gateway: _CountingGateway, task: EvalTask, mode: str, latencies: list[float]):
        retrieval = self.retrieval
        if mode == "none" or retrieval is None:
            return None
        once: dict[str, str] = {}

        async def fetch(history: list[Step], observation: str) -> str:
            if mode == "instruction" and "block" in once:
                return once["block"]
            kwargs: dict[str, Any] = {
                "instruction": task.instruction,
                "observation": observation,
                "history": history[-5:],
                "mode": mode,
                "k": self.k,
                "envs": [self.env],
                "prompt_budget_chars": PROMPT_BUDGET,
            }
            if mode in ("query", "agentic"):
                try:
                    kwargs["queries"] = await self._queries(gateway, task, history, observation)
                except LLMError:  # no queries this step: the other modes still answer
                    kwargs["queries"] = []
            started = time.perf_counter()
            result = await retrieval.retrieve(self.dataset, **kwargs)
            latencies.append((time.perf_counter() - started) * 1000)
            once["block"] = result.prompt_block
            return result.prompt_block

        return fetch

    async def _episode(self, task: EvalTask, mode: str, gateway: _CountingGateway, latencies: list[float]):
        trajectory, judgement = await run_judged_episode(
            gateway,
            self.runner,
            self.env,
            self.action_space,
            Task(task.id, task.instruction),
            task.check,
            max_steps=self.max_steps,
            env_config={**self.env_config, **task.config},
            model=self.model,
            demonstrations=self._demonstrations(gateway, task, mode, latencies),
        )
        if self.on_episode is not None and judgement is not None:
            maybe = self.on_episode(task, mode, trajectory, judgement)
            if maybe is not None:
                await maybe
        return trajectory, judgement

    async def run_task(self, task: EvalTask, mode: str) -> TaskResult:
        """One task in one mode: a verdict, or an error with its reason (never an exception)."""
        latencies: list[float] = []
        gateway = _CountingGateway(self.gateway)
        steps, status, episode = 0, "error", {}
        try:
            trajectory, judgement = await asyncio.wait_for(
                self._episode(task, mode, gateway, latencies), self.task_timeout_s
            )
            steps = len(trajectory.steps)
            episode = episode_record(task.instruction, trajectory)
            assert judgement is not None
            if judgement.check_error:
                reason = f"check error: {judgement.reason}"
            else:
                status, reason = ("passed" if judgement.ok else "failed"), judgement.reason
                if trajectory.error:  # judged on the steps the agent took before its LLM failed
                    reason = f"LLM failure after {steps} steps ({trajectory.error[:300]}); {reason}"
        except TimeoutError:
            reason = f"timeout: the task ran past {self.task_timeout_s:g}s"
        except LLMError as exc:
            reason = f"LLM failed: {exc.reason}"
        except grpc.aio.AioRpcError as exc:
            details = exc.details() or exc.code().name
            if exc.code() in _REFUSED:
                reason = f"invalid check: {details}" if details.startswith("check.") else f"refused config: {details}"
            elif exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                reason = f"timeout: {details}"
            else:
                reason = f"runner error: {exc.code().name}: {details}"
        except Exception as exc:
            log.exception("task %s (%s) failed unexpectedly", task.id, mode)
            reason = f"internal error: {type(exc).__name__}: {exc}"
        return TaskResult(
            task.id,
            mode,
            status == "passed",
            reason,
            steps,
            gateway.calls,
            gateway.tokens,
            latencies,
            status,
            episode=episode,
        )

    async def run_mode(
        self, tasks: list[EvalTask], mode: str, on_result: Callable[[TaskResult], None] | None = None
    ) -> tuple[ModeSummary, list[TaskResult]]:
        started = time.monotonic()
        slots = asyncio.Semaphore(self.concurrency)

        async def one(task: EvalTask) -> TaskResult:
            async with slots:
                result = await self.run_task(task, mode)
            if on_result is not None:
                on_result(result)
            return result

        results = await gather_settled(*(one(t) for t in tasks))
        return summarise(mode, results, time.monotonic() - started), results


def summarise(mode: str, results: list[TaskResult], wall_seconds: float) -> ModeSummary:
    latencies = [ms for r in results for ms in r.retrieval_ms]
    n = max(1, len(results))
    return ModeSummary(
        mode=mode,
        tasks=len(results),
        success_rate=round(sum(r.success for r in results) / n, 4),
        mean_steps=round(statistics.fmean([r.steps for r in results]) if results else 0.0, 2),
        llm_calls_per_task=round(sum(r.llm_calls for r in results) / n, 2),
        tokens_per_task=round(sum(r.tokens for r in results) / n, 1),
        retrieval_p50_ms=round(percentile(latencies, 50), 2),
        retrieval_p99_ms=round(percentile(latencies, 99), 2),
        wall_seconds=round(wall_seconds, 2),
        errors=sum(r.status == "error" for r in results),
    )
