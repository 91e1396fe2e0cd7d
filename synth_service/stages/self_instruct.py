"""Stage 2, self-instruct: an LLM writes N tasks per resource, told what the environment holds; near-duplicate
tasks across the whole job are dropped (cosine similarity of their embeddings, as matrix products).

Tasks are written for many resources at once; they are admitted one resource at a time, in resource order
(`Admission`), so the tasks a resource adds are compared with exactly the tasks of the resources before it, in
every run. A resource's admitted tasks go to rollout at once, while later resources are still being read.
"""

from __future__ import annotations

import numpy as np

from lbi.llm.gateway import LLMError
from lbi.llm.roles import Role
from lbi.records import Instruction
from lbi.vectors import distinct
from synth_service.context import JobContext
from synth_service.stages.names import ADMITTED, INSTRUCTIONS, TASKS


async def write_tasks(ctx: JobContext, key: str, resource: dict, description: str) -> list[str]:
    """The tasks the LLM wrote from one resource (journaled; [] when its call failed, with the reason)."""
    known = await ctx.journal.aget(ctx.job_id, TASKS, [key])
    if key in known:
        return known[key][0]["tasks"]
    inputs = {
        "env": ctx.spec.env,
        "env_description": description,
        "resource_title": resource["title"],
        "resource_text": resource["text"],
        "n": ctx.spec.instructions_per_resource,
    }
    try:
        result = await ctx.llm("self_instruct", Role.SELF_INSTRUCT, inputs, ctx.spec.models.instructor)
    except LLMError as exc:
        await ctx.journal.aput(ctx.job_id, TASKS, [(key, {"tasks": []}, False, exc.reason)])
        return []
    tasks = [t.strip() for t in result.output.tasks if t.strip()][: ctx.spec.instructions_per_resource]
    await ctx.journal.aput(ctx.job_id, TASKS, [(key, {"tasks": tasks}, True, "")])
    return tasks


def environment_description(static: str, resources: list[dict]) -> str:
    """The environment's own description plus its discovered overview (for sql the tables, for a site its pages),
    so a task proposed from any one resource fits the environment it will run in."""
    overview = next(
        (r["text"] for r in resources if r.get("kind", "docs") != "docs" and r.get("uri", "").endswith("#overview")), ""
    )
    return f"{static}\n\nWhat this environment holds:\n{overview[:1500]}" if overview else static


class Admission:
    """The job's admitted tasks so far and their embeddings; `admit` is called in resource order."""

    def __init__(self, ctx: JobContext):
        self.ctx = ctx
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._count = 0

    def _append(self, vectors: np.ndarray) -> None:
        if not len(vectors):
            return
        if self._count + len(vectors) > len(self._vectors):
            grown = np.zeros(
                (max(2 * len(self._vectors), self._count + len(vectors), 64), vectors.shape[1]), dtype=np.float32
            )
            if self._count:
                grown[: self._count] = self._vectors[: self._count]
            self._vectors = grown
        self._vectors[self._count : self._count + len(vectors)] = vectors
        self._count += len(vectors)

    async def _embed(self, texts: list[str]) -> np.ndarray:
        embedder = self.ctx.datasets.embedder
        if not texts:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.asarray(await embedder.aencode(texts), dtype=np.float32).reshape(len(texts), -1)

    async def admitted(self, resource_key: str) -> list[tuple[str, dict]] | None:
        """The instructions a resource was given in an earlier run (and their vectors counted), else None."""
        known = await self.ctx.journal.aget(self.ctx.job_id, ADMITTED, [resource_key])
        if resource_key not in known:
            return None
        keys = known[resource_key][0]["instructions"]
        rows = await self.ctx.journal.aget(self.ctx.job_id, INSTRUCTIONS, keys)
        instructions = [(k, rows[k][0]) for k in keys]
        self._append(await self._embed([i["text"] for _, i in instructions]))
        return instructions

    async def admit(self, resource_key: str, tasks: list[str]) -> list[tuple[str, dict]]:
        """The resource's tasks that are not near-duplicates of admitted ones, journaled as instructions."""
        unique = list(dict.fromkeys(tasks))
        vectors = await self._embed(unique)
        prior = self._vectors[: self._count] if self._count else None
        kept = distinct(vectors, self.ctx.spec.dedup_threshold, prior=prior) if unique else []
        self._append(vectors[kept])
        instructions = [Instruction(resource_key, unique[i]) for i in kept]
        rows = [(i.id, {"resource_id": i.resource_id, "text": i.text}) for i in instructions]
        await self.ctx.journal.aput(self.ctx.job_id, INSTRUCTIONS, [(key, payload, True, "") for key, payload in rows])
        await self.ctx.journal.aput(
            self.ctx.job_id, ADMITTED, [(resource_key, {"instructions": [key for key, _ in rows]}, True, "")]
        )
        return rows
