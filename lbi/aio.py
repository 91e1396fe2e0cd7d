"""Asyncio helpers the services share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def gather_settled(*awaitables: Awaitable[T]) -> list[T]:
    """`asyncio.gather` that returns or raises only once every child has finished.

    Plain `gather` lets its caller go on as soon as the first child is cancelled or fails, while the others are
    still running their clean-up (closing a session, say) on channels the caller is about to close. Here, when the
    caller is cancelled or a child fails, the rest are cancelled and waited for before the error goes up."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:  # a child already being cancelled is left to finish its clean-up
            if not task.done() and not (isinstance(task, asyncio.Task) and task.cancelling()):
                task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        raise
