"""Runs a stage's unfinished items concurrently, within a bound, reporting progress after each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from synth_service.context import JobContext


async def for_each(ctx: JobContext, stage: str, items: list[tuple[str, Any]], done: set[str], concurrency: int,
                   work: Callable[[str, Any], Awaitable[None]]) -> None:
    """Calls work(key, item) for every item whose key is not in `done`; the first error cancels the rest."""
    finished = sum(1 for key, _ in items if key in done)
    slots = asyncio.Semaphore(concurrency)

    async def one(key: str, item: Any) -> None:
        nonlocal finished
        async with slots:
            ctx.check_cancel()
            await work(key, item)
        finished += 1
        ctx.publish({"stage": stage, "done": finished, "total": len(items)})

    async with asyncio.TaskGroup() as group:
        for key, item in items:
            if key not in done:
                group.create_task(one(key, item))
