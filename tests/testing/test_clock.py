"""VirtualClock: sleeps and call_at timers run in deadline order, only when time is advanced."""

from __future__ import annotations

import asyncio

import pytest

from pipelines.runtime.clock import SYSTEM_CLOCK, Clock, Timer
from pipelines.testing import VirtualClock


def test_both_clocks_follow_the_protocol():
    assert isinstance(VirtualClock(), Clock)
    assert isinstance(SYSTEM_CLOCK, Clock)


async def test_sleepers_and_timers_wake_in_deadline_then_creation_order():
    clock = VirtualClock(start=100.0)
    seen: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        seen.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper("a", 2)), asyncio.create_task(sleeper("b", 1))]
    await clock.settle()
    clock.call_at(1.0, lambda: seen.append(("timer", clock.monotonic())))
    clock.call_at(0.5, lambda: seen.append(("early", clock.monotonic())))
    assert clock.sleepers == 4
    assert clock.next_deadline() == 0.5
    await clock.advance(1.5)
    assert seen == [("early", 0.5), ("b", 1.0), ("timer", 1.0)]
    assert clock.monotonic() == 1.5 and clock.time() == 101.5
    await clock.advance(1)
    assert seen[-1] == ("a", 2.0)
    await asyncio.gather(*tasks)
    assert clock.sleepers == 0 and clock.next_deadline() is None


async def test_a_cancelled_timer_never_runs():
    clock = VirtualClock()
    ran: list[int] = []
    timer = clock.call_at(1.0, lambda: ran.append(1))
    assert isinstance(timer, Timer)
    timer.cancel()
    assert clock.sleepers == 0
    await clock.advance(5)
    assert ran == []


async def test_a_cancelled_sleep_leaves_no_timer():
    clock = VirtualClock()
    task = asyncio.create_task(clock.sleep(3))
    await clock.settle()
    assert clock.sleepers == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0


async def test_a_deadline_already_passed_runs_at_the_next_advance():
    clock = VirtualClock()
    await clock.advance(2)
    ran: list[float] = []
    clock.call_at(1.0, lambda: ran.append(clock.monotonic()))
    await clock.advance(0)
    assert ran == [2.0]


async def test_the_system_clock_runs_call_at_on_the_loop():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    SYSTEM_CLOCK.call_at(SYSTEM_CLOCK.monotonic(), lambda: done.set_result(True))
    async with asyncio.timeout(5):
        assert await done is True


async def test_time_cannot_go_back():
    with pytest.raises(ValueError, match="cannot go back"):
        await VirtualClock().advance(-1)


async def test_times_are_floats_even_for_integer_deadlines():
    clock = VirtualClock(start=0)
    seen: list[float] = []

    async def sleeper() -> None:
        await clock.sleep_until(7)
        seen.append(clock.monotonic())

    task = asyncio.create_task(sleeper())
    clock.call_at(3, lambda: seen.append(clock.monotonic()))
    await clock.advance(10)
    await task
    assert seen == [3.0, 7.0]
    assert all(type(t) is float for t in seen)
    assert type(clock.monotonic()) is float and type(clock.time()) is float
