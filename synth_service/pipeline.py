"""A job's stages as one stream: each item goes on to its next stage as soon as it is done.

    resources ─▶ tasks per resource ─▶ admitted in resource order ─▶ per instruction:
        rollout ─▶ backward construction ─▶ demonstrations claimed in instruction order ─▶ committee ─▶ ingest batches

A resource's tasks roll out while later resources are still being read; a trajectory is labelled the moment
its rollout ends; kept examples are written to the store in small batches as they are judged. Every LLM call
of every stage shares the job's one bound (`JobContext.llm`), later stages first.

Determinism and resume: each item's work is journaled under a content key, and the two decisions that depend
on other items (near-duplicate tasks, the candidate standing for a shared demonstration) are taken in the
items' own order (`InOrder`), so a job resumed after a kill at any point keeps exactly the set an
uninterrupted run keeps. A reorder window bounds the trajectories waiting for their turn (memory stays flat
however long one rollout takes).

`barrier=True` runs the same work with every stage waiting for the whole previous stage (the pipeline before
streaming), kept as the baseline `bench/synthesis.py` measures against.
"""

from __future__ import annotations

import asyncio
import contextvars

from lbi.errors import FailedPrecondition
from synth_service.context import JobContext, pilot
from synth_service.in_order import InOrder
from synth_service.progress import COUNTED, Progress
from synth_service.stages import backward, resources, rollout, self_instruct
from synth_service.stages import filter as filter_stage
from synth_service.stages.ingest import Ingester
from synth_service.stages.names import INGESTED, INSTRUCTIONS, RESOURCES, STAGES_DONE


class Pipeline:
    def __init__(self, ctx: JobContext, barrier: bool = False, flush_s: float = 1.0):
        self.ctx = ctx
        self.barrier = barrier
        self.flush_s = flush_s
        self.turns = InOrder()
        self.claims = filter_stage.Claims()
        self.sessions = asyncio.Semaphore(ctx.spec.rollout_concurrency)
        # instructions started and not through their turn at most this many (no window in barrier mode)
        self.window = 0 if barrier else max(8, 2 * ctx.spec.rollout_concurrency)
        self.progress = Progress(ctx, ctx.journal.keys(ctx.job_id, STAGES_DONE))
        self.instructions = 0

    async def run(self) -> None:
        try:
            await self.progress.track_stage()
            if not self.progress.finished_before("resources"):
                self.progress.begin("resources")
                await resources.run(self.ctx)
            await self.progress.finish("resources")
            await self._stream()
        finally:
            self.progress.close()

    async def _stream(self) -> None:
        ctx = self.ctx
        rows = [(key, r) for key, r, _, _ in ctx.journal.records(ctx.job_id, RESOURCES)]
        self._texts = {key: r["text"] for key, r in rows}
        self._ingested = ctx.journal.keys(ctx.job_id, INGESTED)
        ingester = Ingester(ctx, self._written, self.flush_s, bounded=not self.barrier)
        self._ingester = ingester
        async with asyncio.TaskGroup() as group:
            writing = None if self.barrier else group.create_task(ingester.run())
            await self._admit(group, rows)
            await self.progress.wait("rollout")
            rollout.check_some_succeeded(ctx)
            await self.progress.wait("filter")
            filter_stage.check_some_kept(ctx)
            if writing is None:
                writing = group.create_task(ingester.run())
            await ingester.close()
            await writing
        await self.progress.finish("ingest")

    async def _admit(self, group: asyncio.TaskGroup, rows: list[tuple[str, dict]]) -> None:
        """Writes every resource's tasks (concurrently) and admits them in resource order, starting each
        admitted instruction's chain at once."""
        ctx, progress = self.ctx, self.progress
        if progress.finished_before("self_instruct"):
            for key, instruction, _, _ in ctx.journal.records(ctx.job_id, INSTRUCTIONS):
                self._start(group, key, instruction)
        else:
            description = self_instruct.environment_description(ctx.env_description, [r for _, r in rows])
            progress.begin("self_instruct")
            progress.enter("self_instruct", len(rows))
            admission = self_instruct.Admission(ctx)
            first = contextvars.copy_context()
            first.run(pilot.set, True)  # the first resource's tasks are written first: the pilot comes from them
            written = [
                group.create_task(
                    self_instruct.write_tasks(ctx, key, r, description), context=first if i == 0 else None
                )
                for i, (key, r) in enumerate(rows)
            ]
            for (key, _), tasks in zip(rows, written, strict=True):
                admitted = await admission.admitted(key)
                if admitted is None:
                    admitted = await admission.admit(key, await tasks)
                for instruction_key, instruction in admitted:
                    self._start(group, instruction_key, instruction)
                await progress.leave("self_instruct")
        if not self.instructions:
            raise FailedPrecondition(
                f"self-instruct wrote no tasks from the job's {len(rows)} resources; nothing to roll out"
            )
        await progress.finish("self_instruct")

    def _start(self, group: asyncio.TaskGroup, key: str, instruction: dict) -> None:
        index = self.instructions
        self.instructions += 1
        for stage in COUNTED:
            self.progress.enter(stage)
        group.create_task(self._chain(index, key, instruction))

    async def _chain(self, index: int, key: str, instruction: dict) -> None:
        """One instruction through rollout, backward construction and the committee (the first is the pilot)."""
        ctx, progress = self.ctx, self.progress
        pilot.set(index == 0)
        if self.window:
            await self.turns.reached(index - self.window + 1)
        else:
            await progress.wait("self_instruct")
        progress.begin("rollout")
        async with self.sessions:
            ctx.check_cancel()
            trajectory, ok, _ = await rollout.rollout(
                ctx, key, instruction, self._texts.get(instruction["resource_id"], "")
            )
        await progress.leave("rollout")
        if self.barrier:
            await progress.wait("rollout")
        progress.begin("backward")
        candidates = await backward.construct(ctx, key, trajectory, instruction["text"]) if ok else []
        await progress.leave("backward")
        if self.barrier:
            await progress.wait("backward")
        progress.begin("filter")
        async with self.turns.turn(index):
            stand_ins = self.claims.claim(candidates)
        for example_key, payload, kept, _ in await filter_stage.judge_all(ctx, candidates, stand_ins):
            if kept and example_key not in self._ingested:
                progress.begin("ingest")
                progress.enter("ingest")
                await self._ingester.put(example_key, payload)
        await progress.leave("filter")

    def _written(self, n: int) -> None:
        self.progress.left["ingest"] += n
        self.progress.report("ingest")
