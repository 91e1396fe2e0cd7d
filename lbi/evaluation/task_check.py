"""Is a task set sound before anyone trusts it? Every task's reference solution, performed in a fresh session, must
pass its check, and an episode that does nothing must fail it (`lbi tasks check`).

A task is flagged with one reason: `setup error` (its session cannot open: a setup script that fails, a config the
runner refuses), `gold fails` (the reference solution does not pass), `empty passes` (doing nothing passes),
`check error` (the check cannot be computed: a gold query that fails, a test that does not exist), `timeout`, or
`no solution` (the task carries none: `solution`, `check.gold_sql` or `check.gold`; its empty episode is still run,
so an imported task that passes doing nothing is flagged for that). The runner judges, as in
evaluation, so a flag here is what `lbi eval` would meet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from lbi.aio import gather_settled
from lbi.clients.runner import Judgement, RunnerClient
from lbi.evaluation.tasks import EvalTask
from lbi.evaluation.traveling import TravelingFileError

REASONS = ("setup error", "gold fails", "empty passes", "check error", "timeout", "no solution")


class SetupError(Exception):
    """The task's session could not be opened."""


@dataclass(frozen=True)
class Flag:
    task_id: str
    reason: str  # one of REASONS
    detail: str

    def to_dict(self) -> dict[str, str]:
        """As `lbi tasks check --json` prints it: the task's `id`, the reason and the detail."""
        return {"id": self.task_id, "reason": self.reason, "detail": self.detail}


async def judged_episode(
    runner: RunnerClient,
    env: str,
    actions: list[str],
    check: dict[str, Any],
    config: dict[str, Any] | None = None,
    answer: str = "",
) -> Judgement:
    """Open a session, take the actions, have the runner judge the episode, close. SetupError when the session
    does not open."""
    try:
        session, _ = await runner.open_session(env, config or {})
    except grpc.aio.AioRpcError as exc:
        raise SetupError(f"{exc.code().name}: {exc.details()}") from exc
    except TravelingFileError as exc:
        raise SetupError(str(exc)) from exc
    try:
        for action in actions:
            await runner.step(session, action)
        return await runner.judge(session, check, answer)
    finally:
        with contextlib.suppress(grpc.aio.AioRpcError):  # a runner that lost the session has nothing left to close
            await runner.close_session(session)


async def check_task(
    runner: RunnerClient, env: str, task: EvalTask, env_config: dict[str, Any], timeout_s: float
) -> Flag | None:
    """None when the task is sound, else why not."""
    actions = task.reference_actions()
    config = {**env_config, **task.config}
    episodes = [("gold", actions, task.answer)] if actions else []
    for label, taken, answer in [*episodes, ("empty", [], "")]:
        try:
            verdict = await asyncio.wait_for(judged_episode(runner, env, taken, task.check, config, answer), timeout_s)
        except TimeoutError:
            return Flag(task.id, "timeout", f"the {label} episode ran past {timeout_s:g}s")
        except SetupError as exc:
            return Flag(task.id, "setup error", str(exc)[:500])
        except grpc.aio.AioRpcError as exc:
            reason = "timeout" if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED else "check error"
            return Flag(task.id, reason, f"{exc.code().name}: {exc.details()}"[:500])
        if verdict.check_error:
            return Flag(task.id, "check error", verdict.reason[:500])
        if label == "gold" and not verdict.ok:
            return Flag(task.id, "gold fails", verdict.reason[:500])
        if label == "empty" and verdict.ok:
            return Flag(task.id, "empty passes", verdict.reason[:500] or "an episode with no action passes")
    if not actions:  # its empty episode fails, but nothing shows that the task can pass
        return Flag(task.id, "no solution", "the task carries no solution, check.gold_sql or check.gold")
    return None


async def check_tasks(
    runner: RunnerClient,
    env: str | None,
    tasks: list[EvalTask],
    env_config: dict[str, Any] | None = None,
    concurrency: int = 4,
    timeout_s: float = 600.0,
    on_done: Callable[[EvalTask, Flag | None], None] | None = None,
) -> list[Flag]:
    """Every task checked (`concurrency` at once) in `env`, else the environment each task names (sql when none);
    the flags in the tasks' order."""
    slots = asyncio.Semaphore(concurrency)

    async def one(task: EvalTask) -> Flag | None:
        async with slots:
            flag = await check_task(runner, env or task.env or "sql", task, env_config or {}, timeout_s)
        if on_done is not None:
            on_done(task, flag)
        return flag

    return [f for f in await gather_settled(*(one(t) for t in tasks)) if f is not None]
