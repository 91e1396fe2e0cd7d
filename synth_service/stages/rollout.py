"""Stage 3, rollout: the LLM agent performs each task in a fresh session, across the job's runners.

A policy whose LLM call fails for good ends the episode (outcome error) with the steps it took, which go on to
backward construction like any other; only an episode that failed before its first action is a failed rollout.
A runner that fails mid-rollout (unreachable, restarted, lost the session) costs the rollout a restart
in a new session on the next runner, up to the job's retry limit; then the rollout is recorded as
failed with the reason. LLM decisions are journaled, so a restarted episode replays them for free.
"""

from __future__ import annotations

import grpc

from lbi.agent import Task, run_episode
from lbi.errors import FailedPrecondition
from lbi.llm.gateway import LLMError
from lbi.records import Trajectory
from synth_service.context import JobContext, StageGateway
from synth_service.runner_pool import RUNNER_FAILURES
from synth_service.stages.names import TRAJECTORIES


def trajectory_payload(t: Trajectory) -> dict:
    return {
        "id": t.id,
        "instruction_id": t.instruction_id,
        "env": t.env,
        "steps": [s.to_dict() for s in t.steps],
        "final_observation": t.final_observation,
        "outcome": t.outcome.value,
        "answer": t.answer,
        "error": t.error,
    }


async def rollout(ctx: JobContext, key: str, instruction: dict, resource_text: str) -> tuple[dict, bool, str]:
    """The instruction's trajectory (payload, ok, reason), from the journal when it was rolled out before."""
    known = (await ctx.journal.aget(ctx.job_id, TRAJECTORIES, [key])).get(key)
    if known is not None:
        return known
    spec = ctx.spec
    task = Task(key, instruction["text"], resource_text)
    reason = ""
    for _attempt in range(spec.rollout_retries + 1):
        runner = ctx.pool.pick()
        try:
            trajectory = await run_episode(
                StageGateway(ctx, "rollout"),
                runner,
                spec.env,
                ctx.action_space,
                task,
                max_steps=spec.max_steps,
                env_config=spec.env_config,
                model=spec.models.policy or None,
            )
            payload = trajectory_payload(trajectory)
            if trajectory.error and not trajectory.steps:  # the policy failed before its first action: nothing to keep
                reason = f"policy LLM failed: {trajectory.error}"
                break
            await ctx.journal.aput(ctx.job_id, TRAJECTORIES, [(key, payload, True, "")])
            return payload, True, ""
        except grpc.aio.AioRpcError as exc:
            reason = f"runner {runner.target}: {exc.code().name}: {exc.details()}"
            if exc.code() not in RUNNER_FAILURES:
                break
            await ctx.pool.report_failure(runner)
        except LLMError as exc:
            reason = f"policy LLM failed: {exc.reason}"
            break
    await ctx.journal.aput(ctx.job_id, TRAJECTORIES, [(key, {}, False, reason)])
    return {}, False, reason


def check_some_succeeded(ctx: JobContext) -> None:
    """A job none of whose rollouts succeeded fails, naming the first reason (a broken runner, a refused config)."""
    failed = ctx.journal.count(ctx.job_id, TRAJECTORIES, ok=False)
    if failed and not ctx.journal.count(ctx.job_id, TRAJECTORIES, ok=True):
        first = next(reason for _, _, _, reason in ctx.journal.records(ctx.job_id, TRAJECTORIES, ok=False))
        raise FailedPrecondition(f"all {failed} rollouts failed; the first: {first}")
