"""Where a streaming job stands, stage by stage: what entered and left each stage, when a stage is finished,
the job's current stage, wall time per stage and throttled progress events.

Stages overlap, so a stage is finished when the stage before it is finished and every item that entered it
has left; the job's `stage` is the first stage not finished. A stage's wall time is from its first item to
its end (stages overlap, so the times add up to more than the job's). Progress events of one stage are sent
at most every `min_interval_s`; a stage's end is always sent.
"""

from __future__ import annotations

import asyncio
import time

from synth_service.context import JobContext
from synth_service.stages.names import PIPELINE, STAGES_DONE

# Stages whose end follows from their items (the others end when the pipeline says so).
COUNTED = ("rollout", "backward", "filter")


class Progress:
    def __init__(self, ctx: JobContext, finished_before: set[str], min_interval_s: float = 0.25):
        self.ctx = ctx
        self.min_interval_s = min_interval_s
        self.entered = dict.fromkeys(PIPELINE, 0)
        self.left = dict.fromkeys(PIPELINE, 0)
        self._finished = {stage: asyncio.Event() for stage in PIPELINE}  # in this run: every item of it is through
        self._before = set(finished_before)  # finished by an earlier run of the job
        self._timed: set[str] = set()
        self._began: dict[str, float] = {}
        self._last_event: dict[str, float] = {}
        self._stage = ""

    def finished(self, stage: str) -> bool:
        return self._finished[stage].is_set()

    def finished_before(self, stage: str) -> bool:
        """Finished by an earlier run (its output is all in the journal)."""
        return stage in self._before

    async def wait(self, stage: str) -> None:
        await self._finished[stage].wait()

    def begin(self, stage: str) -> None:
        """Marks the stage's first work (its wall time starts)."""
        self._began.setdefault(stage, time.monotonic())

    def enter(self, stage: str, n: int = 1) -> None:
        self.entered[stage] += n

    async def leave(self, stage: str, n: int = 1) -> None:
        self.left[stage] += n
        self.report(stage)
        await self.settle()

    async def settle(self) -> None:
        """Finishes every counted stage whose predecessor is finished and whose items have all left."""
        for stage in COUNTED:
            before = PIPELINE[PIPELINE.index(stage) - 1]
            if not self.finished(stage) and self.finished(before) and self.left[stage] >= self.entered[stage]:
                await self.finish(stage)

    async def finish(self, stage: str) -> None:
        if self.finished(stage):
            return
        self._finished[stage].set()
        self._add_time(stage)
        if stage not in self._before:
            await self.ctx.journal.aput(self.ctx.job_id, STAGES_DONE, [(stage, {}, True, "")])
        self.ctx.publish(
            {"stage": stage, "done": self.left[stage], "total": self.entered[stage], "message": f"{stage} done"}
        )
        await self.track_stage()
        if stage not in COUNTED:
            await self.settle()

    async def track_stage(self) -> None:
        """Records the job's current stage: the first not finished."""
        current = next((s for s in PIPELINE if not self.finished(s) and s not in self._before), PIPELINE[-1])
        if current != self._stage:
            self._stage = current
            await self.ctx.journal.aset_job(self.ctx.job_id, stage=current)

    def report(self, stage: str) -> None:
        """A progress event for the stage, unless one was sent less than `min_interval_s` ago."""
        now = time.monotonic()
        if now - self._last_event.get(stage, 0.0) >= self.min_interval_s:
            self._last_event[stage] = now
            self.ctx.publish({"stage": stage, "done": self.left[stage], "total": self.entered[stage]})

    def _add_time(self, stage: str) -> None:
        if stage in self._began and stage not in self._timed:
            self._timed.add(stage)
            self.ctx.journal.add_time(self.ctx.job_id, stage, time.monotonic() - self._began[stage])

    def close(self) -> None:
        """Records the wall time of stages this run began and did not finish (an interrupted or failed job)."""
        for stage in list(self._began):
            self._add_time(stage)
