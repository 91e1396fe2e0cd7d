"""The LLM agent loop: one episode of a task in a runner session, as a Trajectory.

The same policy serves the rollout stage of synthesis and the evaluation harness: at each step the
`act` role sees the task, the action space, optional reference material (the task's documentation,
or demonstrations retrieved for the current step) and the history, and either acts or stops. The session is
always closed, whatever happens; with a `check`, the runner judges the episode on the session first.

A move is an action, `stop`, or both (the action runs, then the episode stops). An action wrapped in one code
fence of the environment's language is unwrapped (lbi.action_text). When the policy's call fails for good (the
provider is down, the reply never fits the schema), the episode ends with outcome ERROR and keeps every step it
took: partial trajectories are what backward construction recovers. Why it ended is `Trajectory.error`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from lbi.action_text import unwrap_action
from lbi.clients.runner import Judgement, RunnerClient
from lbi.llm.gateway import LLMCaller, LLMError
from lbi.llm.roles import ActOut, Role
from lbi.records import Outcome, Step, Trajectory

OnStep = Callable[[int, Step, str], Awaitable[None] | None]
# Called before every action with (history, current observation); returns reference demonstrations text.
Demonstrations = Callable[[list[Step], str], Awaitable[str]]


@dataclass(frozen=True)
class Task:
    instruction_id: str
    text: str
    resource_text: str = ""


async def run_episode(
    gateway: LLMCaller,
    runner: RunnerClient,
    env: str,
    action_space: str,
    task: Task,
    max_steps: int = 10,
    env_config: dict[str, Any] | None = None,
    model: str | None = None,
    on_step: OnStep | None = None,
    demonstrations: Demonstrations | None = None,
) -> Trajectory:
    """Runs the agent until it stops, the environment is done, or max_steps actions were taken."""
    trajectory, _ = await run_judged_episode(
        gateway, runner, env, action_space, task, None, max_steps, env_config, model, on_step, demonstrations
    )
    return trajectory


async def run_judged_episode(
    gateway: LLMCaller,
    runner: RunnerClient,
    env: str,
    action_space: str,
    task: Task,
    check: dict[str, Any] | None,
    max_steps: int = 10,
    env_config: dict[str, Any] | None = None,
    model: str | None = None,
    on_step: OnStep | None = None,
    demonstrations: Demonstrations | None = None,
) -> tuple[Trajectory, Judgement | None]:
    """An episode, then (with a check) the runner's verdict on it, computed on the session before it closes."""
    session_id, first = await runner.open_session(env, env_config)
    action_space = first.info.get("action_space") or action_space  # the session's own (a database names its dialect)
    judgement = None
    steps: list[Step] = []
    observation, outcome, answer, error = first.text, Outcome.MAX_STEPS, "", ""
    try:
        for _ in range(max_steps):
            reference = await demonstrations(steps, observation) if demonstrations else ""
            inputs = {
                "env": env,
                "action_space": action_space,
                "task": task.text,
                "resource_text": task.resource_text,
                "examples": reference,
                "history": [s.to_dict() for s in steps],
                "observation": observation,
            }
            try:
                move = (await gateway.call(Role.ACT, inputs, model=model)).output
            except LLMError as exc:
                outcome, error = Outcome.ERROR, f"{exc.kind}: {exc.reason}"
                break
            assert isinstance(move, ActOut)
            action = unwrap_action(env, move.action)
            if action.strip():
                result = await runner.step(session_id, action)
                step = Step(observation=observation, action=action, thought=move.thought, error=result.error)
                steps.append(step)
                observation = result.text
                if on_step is not None:
                    maybe = on_step(len(steps), step, observation)
                    if maybe is not None:
                        await maybe
                if result.done:
                    outcome = Outcome.DONE
                    break
            if move.stop:
                outcome, answer = Outcome.STOPPED, move.answer
                break
        if check is not None:
            judgement = await runner.judge(session_id, check, answer)
    finally:
        # a runner that died has no session left to close; a closed channel means the caller is shutting down
        with contextlib.suppress(grpc.aio.AioRpcError, grpc.aio.UsageError):
            await runner.close_session(session_id)
    trajectory = Trajectory(task.instruction_id, env, tuple(steps), observation, outcome, answer, error=error)
    return trajectory, judgement
