"""One bound on a job's concurrent LLM calls, shared by every stage, served by priority.

A streaming job has work queued in several stages at once. The job (`JobContext.llm`) hands a free slot
first to its pilot (the first instruction, so the first examples reach the store one chain of calls after
the start), then to the waiter furthest down the pipeline (filter before backward before rollout before
self-instruct): examples that are nearly done reach the store early and little work is held in memory,
while the bound keeps every slot busy whenever any stage has a call waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator


class PrioritySlots:
    """A semaphore whose waiters are served lowest priority number first, then in arrival order."""

    def __init__(self, slots: int):
        self._free = slots
        self._waiters: list[tuple[int, int, asyncio.Future]] = []
        self._arrivals = itertools.count()

    async def acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over as the waiter was cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1

    @contextlib.asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()

    @property
    def waiting(self) -> int:
        return sum(1 for *_, f in self._waiters if not f.done())
