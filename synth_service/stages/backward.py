"""Stage 4, backward construction: relabel every sub-trajectory with the instruction it accomplishes.

For a trajectory o0, a1, ..., aL, oL the span (i, j), 0 <= i < j <= L, is o_i, a_(i+1), ..., a_j, o_j
(the final observation included; the paper's pseudo-code slice is off by one). Two kinds of label per
span: the task it accomplishes (origin backward-task) and a step-by-step summary ("Replicate the
following: ...", origin backward-summary). The original (task, whole trajectory) is kept as forward.

Modes and their LLM calls for a trajectory of L steps:
- paper:   every span, one call per span and kind: L(L+1)/2 spans x 2 = L(L+1) calls;
- window:  spans of at most W steps, one call each: 2 * sum(min(W, L - i)) calls;
- batched: every span, one call per start step and kind labelling all its ends: 2L calls.

A trajectory is labelled as soon as its rollout ends, all its calls at once: the job's one LLM bound
(`JobContext.llm`) decides how many run together.
"""

from __future__ import annotations

import asyncio

from lbi.dataset import example_payload
from lbi.llm.gateway import LLMError
from lbi.llm.roles import Role
from lbi.records import Example, Origin, Step, content_id, state_at
from synth_service.context import JobContext
from synth_service.stages.names import BACKWARD_DONE, CANDIDATES, LABEL_FAILURES

KINDS = {"task": Origin.BACKWARD_TASK, "summary": Origin.BACKWARD_SUMMARY}


def label_plan(length: int, mode: str, window: int) -> list[tuple[int, list[int]]]:
    """(start, ends) groups; each group is one call per kind in batched mode, one call per end otherwise."""
    limit = window if mode == "window" else length
    return [(i, list(range(i + 1, min(length, i + limit) + 1))) for i in range(length)]


def labelling_calls(length: int, mode: str, window: int) -> int:
    """LLM calls backward construction makes for one trajectory of `length` steps."""
    groups = label_plan(length, mode, window)
    per_kind = len(groups) if mode == "batched" else sum(len(ends) for _, ends in groups)
    return per_kind * len(KINDS)


def _span(steps: tuple[Step, ...], final: str, i: int, j: int) -> tuple[list[dict], str]:
    end_observation = state_at(steps, j, final)
    return [s.to_dict() for s in steps[i:j]], end_observation


async def _labels(
    ctx: JobContext, steps: tuple[Step, ...], final: str, start: int, ends: list[int], kind: str
) -> dict[int, str]:
    """end -> label, or end -> Failure(reason) when its call failed: a failed span never loses its neighbours."""
    model = ctx.spec.models.labeller
    env = ctx.spec.env
    if ctx.spec.backward_mode == "batched":
        return await _batch(ctx, steps, final, start, ends, kind)

    async def one(end: int) -> str:
        span_steps, end_observation = _span(steps, final, start, end)
        try:
            result = await ctx.llm(
                "backward",
                Role.LABEL,
                {"env": env, "kind": kind, "steps": span_steps, "final_observation": end_observation},
                model,
            )
            return result.output.instruction
        except LLMError as exc:
            return Failure(f"{exc.kind}: {exc.reason}")

    return dict(zip(ends, await asyncio.gather(*(one(end) for end in ends)), strict=True))


async def _batch(
    ctx: JobContext, steps: tuple[Step, ...], final: str, start: int, ends: list[int], kind: str
) -> dict[int, str]:
    """One call labels every end of the group; a reply cut at max_tokens even with the larger budget (the labels of a
    long trajectory outgrow it) is asked again as two groups of half the ends each, down to single ends."""
    last = max(ends)
    span_steps, _ = _span(steps, final, start, last)
    inputs = {
        "env": ctx.spec.env,
        "kind": kind,
        "steps": span_steps,
        "final_observation": state_at(steps, last, final),
        "ends": [e - start for e in ends],
    }
    try:
        result = await ctx.llm("backward", Role.LABEL_BATCH, inputs, ctx.spec.models.labeller)
    except LLMError as exc:
        if exc.kind == "truncated" and len(ends) > 1:
            half = len(ends) // 2
            first, second = await asyncio.gather(
                _batch(ctx, steps, final, start, ends[:half], kind), _batch(ctx, steps, final, start, ends[half:], kind)
            )
            return {**first, **second}
        return {e: Failure(f"{exc.kind}: {exc.reason}") for e in ends}
    by_end = {label.end + start: label.instruction for label in result.output.labels}
    return {e: by_end.get(e) or Failure("the batched reply had no label for this end") for e in ends}


class Failure(str):
    """Why a span has no label (kept apart from labels by its type)."""


async def construct(ctx: JobContext, trajectory_id: str, t: dict, task: str) -> list[tuple[str, dict]]:
    """The trajectory's candidates (key, payload): the forward example and every labelled span; journaled, so a
    trajectory constructed before is read back, not labelled again."""
    known = (await ctx.journal.aget(ctx.job_id, BACKWARD_DONE, [trajectory_id])).get(trajectory_id)
    if known is not None and "keys" in known[0]:
        stored = await ctx.journal.aget(ctx.job_id, CANDIDATES, known[0]["keys"])
        return [(key, stored[key][0]) for key in known[0]["keys"]]
    steps = tuple(Step.from_dict(s) for s in t["steps"])
    final = t["final_observation"]
    source = t["id"]
    candidates = [Example(task, t["env"], steps, final, Origin.FORWARD, source, 0, len(steps))] if steps else []
    plan = [
        (start, ends, kind, origin)
        for start, ends in label_plan(len(steps), ctx.spec.backward_mode, ctx.spec.backward_window)
        for kind, origin in KINDS.items()
    ]
    labelled = await asyncio.gather(*(_labels(ctx, steps, final, start, ends, kind) for start, ends, kind, _ in plan))
    failures = []
    for (start, _, kind, origin), labels in zip(plan, labelled, strict=True):
        for end, label in labels.items():
            if isinstance(label, Failure):
                failures.append(
                    (
                        content_id("label", source, start, end, kind),
                        {"start": start, "end": end, "kind": kind},
                        False,
                        str(label),
                    )
                )
                continue
            span_steps, end_observation = steps[start:end], state_at(steps, end, final)
            candidates.append(Example(label, t["env"], span_steps, end_observation, origin, source, start, end))
    rows = list({e.id: example_payload(e) for e in candidates}.items())
    await ctx.journal.aput(ctx.job_id, CANDIDATES, [(key, payload, True, "") for key, payload in rows])
    if failures:
        await ctx.journal.aput(ctx.job_id, LABEL_FAILURES, failures)
    await ctx.journal.aput(
        ctx.job_id,
        BACKWARD_DONE,
        [
            (
                trajectory_id,
                {"candidates": len(rows), "failures": len(failures), "keys": [key for key, _ in rows]},
                True,
                "",
            )
        ],
    )
    return rows
