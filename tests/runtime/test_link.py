"""Link: one freed slot wakes one waiting producer, and a slot is never lost."""

from __future__ import annotations

import asyncio

from pipelines.runtime.link import Link


async def _both_waiting(link: Link) -> tuple[asyncio.Task[None], asyncio.Task[None]]:
    first = asyncio.create_task(link.wait_space())
    second = asyncio.create_task(link.wait_space())
    await asyncio.sleep(0)  # one loop step: both tasks start and wait
    assert len(link.putters) == 2
    return first, second


async def test_one_freed_slot_wakes_one_producer_the_longest_waiting():
    link = Link("a->b", capacity=1, producers=2)
    link.buf.append("x")
    first, second = await _both_waiting(link)
    link.buf.popleft()
    link.wake_putters()
    await first  # it got the slot
    assert not second.done()
    assert len(link.putters) == 1
    second.cancel()


async def test_a_producer_cancelled_after_being_woken_passes_its_slot_on():
    link = Link("a->b", capacity=1, producers=2)
    link.buf.append("x")
    first, second = await _both_waiting(link)
    link.buf.popleft()
    link.wake_putters()  # the slot goes to `first`...
    first.cancel()  # ...which is cancelled before it can use it
    async with asyncio.timeout(5):  # a safety net: without the hand-off this hangs
        await second
    assert first.cancelled()
    assert link.putters == []


async def test_emptying_the_buffer_wakes_every_producer():
    link = Link("a->b", capacity=1, producers=2)
    link.buf.append("x")
    first, second = await _both_waiting(link)
    link.buf.clear()
    link.wake_all_putters()
    async with asyncio.timeout(5):
        await asyncio.gather(first, second)
