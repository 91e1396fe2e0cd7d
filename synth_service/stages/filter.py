"""Stage 5, filter: drop repeated states and repeated demonstrations, then a committee of LLMs judges four
criteria per example.

A demonstration that several trajectories share (the same instruction, observations and actions: every
rollout that starts by listing the tables, say) is judged once: the first candidate showing it, in
instruction order (`Claims`, taken in turn), stands for it and the others are dropped naming it, so the
dataset does not fill with copies.

Policy strict keeps an example only if every member accepts all four criteria; relaxed if any member
does. Verdicts and reasons are kept with every example, kept or not.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from dataclasses import replace

from lbi.dataset import example_from_payload, example_payload
from lbi.errors import FailedPrecondition
from lbi.llm.gateway import LLMError
from lbi.llm.roles import Role
from lbi.records import CRITERIA, Example, Verdict, first_repeated_state
from synth_service.context import JobContext
from synth_service.stages.names import FILTERED


async def _verdict(ctx: JobContext, example: Example, judge: str) -> Verdict:
    inputs = {
        "env": example.env,
        "origin": example.origin.value,
        "instruction": example.instruction,
        "steps": [s.to_dict() for s in example.steps],
        "final_observation": example.final_observation,
    }
    try:
        answer = (await ctx.llm("filter", Role.JUDGE, inputs, judge)).output
    except LLMError as exc:
        return Verdict(
            judge or ctx.gateway.sampling(Role.JUDGE).model,
            tuple((c, False, f"judge failed ({exc.kind}): {exc.reason}") for c in CRITERIA),
        )
    return Verdict(
        judge or ctx.gateway.sampling(Role.JUDGE).model,
        tuple((c, getattr(answer, c).ok, getattr(answer, c).reason) for c in CRITERIA),
    )


async def judge(ctx: JobContext, example: Example, same_as: str = "") -> tuple[Example, str]:
    """The example with its verdicts and kept flag, and why it was dropped ('' when kept). `same_as` names the
    candidate that stands for the same demonstration, when it is another one."""
    if same_as:
        return replace(example, kept=False), f"the same demonstration as candidate {same_as}"
    repeat = first_repeated_state(example.steps, example.final_observation)
    if repeat is not None:
        return replace(example, kept=False), f"repeated state at action {repeat + 1}"
    committee = ctx.spec.models.committee or [""]
    verdicts = tuple(await asyncio.gather(*(_verdict(ctx, example, j) for j in committee)))
    accepted = [v.accepted for v in verdicts]
    kept = all(accepted) if ctx.spec.filter_policy == "strict" else any(accepted)
    reason = (
        "" if kept else "; ".join(f"{v.judge}: {c}: {r}" for v in verdicts for c, ok, r in v.criteria if not ok)[:2000]
    )
    return replace(example, verdicts=verdicts, kept=kept), reason


class Claims:
    """Which candidate stands for each demonstration: the first to claim it. Claimed one trajectory at a time, in
    instruction order, so every run (and every resumed run) picks the same candidates."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def claim(self, candidates: list[tuple[str, dict]]) -> dict[str, str]:
        """key -> the key of the candidate that stands for its demonstration (itself when it is the first)."""
        stand_ins = {}
        for key, payload in candidates:
            stand_ins[key] = self._first.setdefault(example_from_payload(payload).demonstration_key, key)
        return stand_ins


async def judge_all(
    ctx: JobContext, candidates: list[tuple[str, dict]], stand_ins: dict[str, str]
) -> list[tuple[str, dict, bool, str]]:
    """Every candidate judged (all at once, within the job's LLM bound) and journaled in one write; candidates
    judged before are read back. Returns (key, payload with verdicts, kept, why dropped) in the candidates' order."""
    known = await ctx.journal.aget(ctx.job_id, FILTERED, [key for key, _ in candidates])
    todo = [(key, payload) for key, payload in candidates if key not in known]

    async def one(key: str, payload: dict) -> tuple[str, dict, bool, str]:
        example, reason = await judge(
            ctx, example_from_payload(payload), "" if stand_ins[key] == key else stand_ins[key]
        )
        return key, example_payload(example), example.kept, reason

    judged = await asyncio.gather(*(one(key, payload) for key, payload in todo))
    if judged:
        await ctx.journal.aput(ctx.job_id, FILTERED, list(judged))
    verdicts = {key: (key, payload, ok, reason) for key, (payload, ok, reason) in known.items()}
    verdicts.update((row[0], row) for row in judged)
    return [verdicts[key] for key, _ in candidates]


def check_some_kept(ctx: JobContext) -> None:
    """A job whose committee kept none of its candidates fails, naming the most common reason: it has learned
    nothing (the agent's actions all failed in this environment, say), and must not say it succeeded."""
    dropped = ctx.journal.count(ctx.job_id, FILTERED, ok=False)
    if dropped and not ctx.journal.count(ctx.job_id, FILTERED, ok=True):
        sample = itertools.islice(ctx.journal.records(ctx.job_id, FILTERED, ok=False), 1000)
        reasons = collections.Counter(reason.split("; ")[0] for _, _, _, reason in sample)
        reason, times = reasons.most_common(1)[0]
        raise FailedPrecondition(
            f"the committee kept none of the {dropped} candidates; the most common reason "
            f"({times} of the first {sum(reasons.values())}): {reason}"
        )
