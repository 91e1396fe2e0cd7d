"""Stage 2, self-instruct: an LLM writes N tasks per resource, told what the environment holds; near-duplicate
tasks across the whole job are dropped (cosine similarity of their embeddings, as matrix products)."""

from __future__ import annotations

import numpy as np

from lbi.llm.gateway import LLMError
from lbi.llm.roles import Role
from lbi.records import Instruction
from synth_service.context import JobContext
from synth_service.stages.fanout import for_each
from synth_service.stages.names import INSTRUCTIONS, RESOURCES, TASKS


async def _tasks_for(ctx: JobContext, key: str, resource: dict, description: str) -> None:
    inputs = {"env": ctx.spec.env, "env_description": description, "resource_title": resource["title"],
              "resource_text": resource["text"], "n": ctx.spec.instructions_per_resource}
    try:
        result = await ctx.llm("self_instruct", Role.SELF_INSTRUCT, inputs, ctx.spec.models.instructor)
        tasks = [t.strip() for t in result.output.tasks if t.strip()][: ctx.spec.instructions_per_resource]
        ctx.journal.put(ctx.job_id, TASKS, [(key, {"tasks": tasks}, True, "")])
    except LLMError as exc:
        ctx.journal.put(ctx.job_id, TASKS, [(key, {"tasks": []}, False, exc.reason)])


def distinct(vectors: np.ndarray, threshold: float, block: int = 1024) -> list[int]:
    """Indices kept, in order: a vector is dropped when its cosine similarity to an earlier kept one reaches
    the threshold (rows are unit length). Matrix products per block of candidates, so 3,000 tasks take
    milliseconds (bench/task_dedup.py), not the minute a pairwise Python loop took."""
    kept: list[int] = []
    for start in range(0, len(vectors), block):
        chunk = vectors[start:start + block]
        alive = np.ones(len(chunk), dtype=bool)
        if kept:
            alive &= (chunk @ vectors[kept].T).max(axis=1) < threshold
        within = chunk @ chunk.T
        for i in range(len(chunk)):
            if alive[i]:
                kept.append(start + i)
                alive[i + 1:] &= within[i, i + 1:] < threshold
    return kept


def environment_description(static: str, resources: list[dict]) -> str:
    """The environment's own description plus its discovered overview (for sql the tables, for a site its pages),
    so a task proposed from any one resource fits the environment it will run in."""
    overview = next((r["text"] for r in resources if r.get("kind", "docs") != "docs" and r.get("uri", "").endswith("#overview")), "")
    return f"{static}\n\nWhat this environment holds:\n{overview[:1500]}" if overview else static


async def run(ctx: JobContext) -> None:
    resources = list(ctx.journal.records(ctx.job_id, RESOURCES))
    description = environment_description(ctx.env_description, [r for _, r, _, _ in resources])
    await for_each(ctx, "self_instruct", [(key, r) for key, r, _, _ in resources], ctx.journal.keys(ctx.job_id, TASKS),
                   ctx.spec.llm_concurrency, lambda key, resource: _tasks_for(ctx, key, resource, description))
    written = {key: payload["tasks"] for key, payload, ok, _ in ctx.journal.records(ctx.job_id, TASKS) if ok}
    tasks = [(key, t) for key, _, _, _ in resources for t in written.get(key, [])]
    unique = list(dict.fromkeys(tasks))
    vectors = np.asarray(await ctx.datasets.embedder.aencode([t for _, t in unique]), dtype=np.float32).reshape(len(unique), -1)
    kept = [unique[i] for i in distinct(vectors, ctx.spec.dedup_threshold)]
    instructions = [Instruction(resource_id, text) for resource_id, text in kept]
    ctx.journal.put(ctx.job_id, INSTRUCTIONS, [(i.id, {"resource_id": i.resource_id, "text": i.text}, True, "") for i in instructions])
