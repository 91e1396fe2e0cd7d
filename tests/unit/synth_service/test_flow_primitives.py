"""The two primitives the streaming pipeline is built on: LLM slots that serve later stages first, and turns
taken in item order whatever order the items finish in."""

import asyncio
import random

import pytest

from synth_service.in_order import InOrder
from synth_service.llm_slots import PrioritySlots


async def test_a_freed_slot_goes_to_the_lowest_priority_number_then_first_come():
    slots = PrioritySlots(1)
    await slots.acquire(0)
    served = []

    async def wait(priority, name):
        async with slots.slot(priority):
            served.append(name)

    waiters = [
        asyncio.ensure_future(wait(p, n))
        for p, n in ((3, "self-instruct"), (1, "backward-a"), (0, "filter"), (1, "backward-b"))
    ]
    await asyncio.sleep(0)
    assert slots.waiting == 4
    slots.release()
    await asyncio.gather(*waiters)
    assert served == ["filter", "backward-a", "backward-b", "self-instruct"]


async def test_a_cancelled_waiter_does_not_lose_the_slot():
    slots = PrioritySlots(1)
    await slots.acquire(0)
    cancelled = asyncio.ensure_future(slots.acquire(0))
    other = asyncio.ensure_future(slots.acquire(5))
    await asyncio.sleep(0)
    slots.release()  # handed to `cancelled` ...
    cancelled.cancel()  # ... which is cancelled before it runs: the slot passes on
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.wait_for(other, 1)
    slots.release()
    await asyncio.wait_for(slots.acquire(0), 1)  # and the count is whole again


async def test_turns_follow_item_order_whatever_order_items_finish():
    turns, order = InOrder(), []
    rng = random.Random(5)

    async def item(index):
        await asyncio.sleep(rng.random() / 100)
        async with turns.turn(index):
            order.append(index)

    await asyncio.gather(*(item(i) for i in rng.sample(range(40), 40)))
    assert order == list(range(40)) and turns.taken == 40


async def test_reached_waits_for_enough_turns():
    turns = InOrder()
    reached = asyncio.ensure_future(turns.reached(3))
    await turns.reached(0)  # nothing to wait for
    for index in range(2):
        async with turns.turn(index):
            pass
    await asyncio.sleep(0)
    assert not reached.done()
    async with turns.turn(2):
        pass
    await asyncio.wait_for(reached, 1)
