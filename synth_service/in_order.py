"""Turns in a fixed order for work that finishes out of order.

Two decisions of a job depend on what came before: a task is a near-duplicate only of tasks admitted
earlier, and of several candidates showing the same demonstration the first stands for it. Items are
produced concurrently and finish in any order; taking these decisions in the items' own order (resource
order, then instruction order) makes them the same in every run, so a resumed job keeps exactly the set an
uninterrupted one keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class InOrder:
    """`async with turns.turn(i)` runs when items 0 .. i-1 have had theirs (each item takes exactly one turn)."""

    def __init__(self) -> None:
        self._next = 0
        self._waiting: dict[int, asyncio.Future] = {}
        self._reached: dict[int, asyncio.Future] = {}

    async def reached(self, count: int) -> None:
        """Returns once `count` turns have been taken (a reorder window: item i starts when item i - W is through)."""
        if count > self._next:
            await self._reached.setdefault(count, asyncio.get_running_loop().create_future())

    @contextlib.asynccontextmanager
    async def turn(self, index: int) -> AsyncIterator[None]:
        if index != self._next:
            future = self._waiting.setdefault(index, asyncio.get_running_loop().create_future())
            await future
        try:
            yield
        finally:
            self._next = index + 1
            for waiting in (self._waiting, self._reached):
                follower = waiting.pop(self._next, None)
                if follower is not None and not follower.done():
                    follower.set_result(None)

    @property
    def taken(self) -> int:
        """Turns taken so far."""
        return self._next
