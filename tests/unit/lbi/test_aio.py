"""gather_settled: a cancelled or failed gather returns only after every child's clean-up ran."""

import asyncio

import pytest

from lbi.aio import gather_settled

pytestmark = pytest.mark.unit


async def test_cancelling_waits_for_every_childs_clean_up():
    started, cleaned = asyncio.Event(), []

    async def child(i: int) -> int:
        try:
            started.set()
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.01 * (i + 1))  # a clean-up that itself awaits (closing a session)
            cleaned.append(i)
        return i

    outer = asyncio.ensure_future(gather_settled(*(child(i) for i in range(4))))
    await started.wait()
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert sorted(cleaned) == [0, 1, 2, 3]


async def test_a_failing_child_cancels_the_rest_and_its_error_goes_up():
    cleaned = []

    async def slow() -> int:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.01)
            cleaned.append("slow")
        return 1

    async def bad() -> int:
        raise ValueError("bad child")

    with pytest.raises(ValueError, match="bad child"):
        await gather_settled(slow(), bad())
    assert cleaned == ["slow"]
    assert await gather_settled(asyncio.sleep(0, 1), asyncio.sleep(0, 2)) == [1, 2]
    assert await gather_settled() == []
