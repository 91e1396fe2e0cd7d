"""Stage 2, self-instruct: an LLM writes N tasks per resource; near-duplicate tasks are dropped."""

from __future__ import annotations

from lbi.llm.gateway import LLMError
from lbi.llm.roles import Role
from lbi.records import Instruction
from synth_service.context import JobContext
from synth_service.stages.fanout import for_each
from synth_service.stages.names import INSTRUCTIONS, RESOURCES, TASKS


async def _tasks_for(ctx: JobContext, key: str, resource: dict) -> None:
    inputs = {"env": ctx.spec.env, "env_description": ctx.env_description, "resource_title": resource["title"],
              "resource_text": resource["text"], "n": ctx.spec.instructions_per_resource}
    try:
        result = await ctx.llm("self_instruct", Role.SELF_INSTRUCT, inputs, ctx.spec.models.instructor)
        tasks = [t.strip() for t in result.output.tasks if t.strip()][: ctx.spec.instructions_per_resource]
        ctx.journal.put(ctx.job_id, TASKS, [(key, {"tasks": tasks}, True, "")])
    except LLMError as exc:
        ctx.journal.put(ctx.job_id, TASKS, [(key, {"tasks": []}, False, exc.reason)])


def _dedup(tasks: list[tuple[str, str]], vectors: list[list[float]], threshold: float) -> list[tuple[str, str]]:
    """Keeps a task unless its cosine similarity to an already kept one reaches the threshold (vectors are unit length)."""
    kept: list[int] = []
    for i, vector in enumerate(vectors):
        if all(sum(a * b for a, b in zip(vector, vectors[j])) < threshold for j in kept):
            kept.append(i)
    return [tasks[i] for i in kept]


async def run(ctx: JobContext) -> None:
    resources = list(ctx.journal.records(ctx.job_id, RESOURCES))
    await for_each(ctx, "self_instruct", [(key, r) for key, r, _, _ in resources], ctx.journal.keys(ctx.job_id, TASKS),
                   ctx.spec.llm_concurrency, lambda key, resource: _tasks_for(ctx, key, resource))
    written = {key: payload["tasks"] for key, payload, ok, _ in ctx.journal.records(ctx.job_id, TASKS) if ok}
    tasks = [(key, t) for key, _, _, _ in resources for t in written.get(key, [])]
    unique = list(dict.fromkeys(tasks))
    vectors = await ctx.datasets.embedder.aencode([t for _, t in unique])
    kept = _dedup(unique, vectors, ctx.spec.dedup_threshold)
    instructions = [Instruction(resource_id, text) for resource_id, text in kept]
    ctx.journal.put(ctx.job_id, INSTRUCTIONS, [(i.id, {"resource_id": i.resource_id, "text": i.text}, True, "") for i in instructions])
