"""rate: at most N calls per interval (a token bucket on the run's clock), shared by workers."""

from __future__ import annotations

import asyncio

import pytest
from engine_funcs.timed import started

from pipelines import Plumber
from pipelines.testing import VirtualClock


def _spec(fn, rate, n=6, **extra):
    return {
        "nodes": {
            "src": {"coro": list(range(n))},
            "r": {"coro": fn, "rate": rate, "collect": True, **extra},
        },
        "graph": {"src": ["r"], "r": None},
    }


def _recorder(clock):
    times: list[float] = []

    async def hit(x):
        times.append(clock.monotonic())
        return x

    return hit, times


async def _run(spec, clock, seconds=100):
    _plumber, clock, task = started(spec, clock)
    await clock.advance(seconds)
    return await task


@pytest.mark.parametrize(
    ("rate", "interval"), [("4/s", 0.25), ("30/min", 2.0), ("2 / h", 1800.0), ("0.5/s", 2.0)]
)
async def test_calls_are_spaced_one_interval_apart(rate, interval):
    clock = VirtualClock(start=0.0)
    hit, times = _recorder(clock)
    result = await _run(_spec(hit, rate), clock, seconds=10 * interval)
    assert times == [i * interval for i in range(6)]
    assert result.outputs["r"] == list(range(6))


async def test_a_burst_lets_that_many_calls_through_at_once():
    clock = VirtualClock(start=0.0)
    hit, times = _recorder(clock)
    await _run(_spec(hit, {"limit": "4/s", "burst": 3}), clock)
    assert times == [0.0, 0.0, 0.0, 0.25, 0.5, 0.75]


async def test_the_bucket_refills_while_idle_up_to_its_burst():
    clock = VirtualClock(start=0.0)
    hit, times = _recorder(clock)

    async def bursts(processor):
        for t in (0, 0, 0, 10, 10, 10, 10):
            await processor.clock.sleep_until(t)
            yield t

    spec = _spec(hit, {"limit": "1/s", "burst": 2})
    spec["nodes"]["src"]["coro"] = bursts
    await _run(spec, clock)
    assert times == [0.0, 0.0, 1.0, 10.0, 10.0, 11.0, 12.0]


async def test_workers_share_the_rate():
    clock = VirtualClock(start=0.0)
    hit, times = _recorder(clock)
    result = await _run(_spec(hit, "4/s", n=8, concurrency=3), clock)
    assert times == [i * 0.25 for i in range(8)]
    assert result.outputs["r"] == list(range(8))


async def test_a_retry_is_a_call_and_waits_for_its_turn():
    clock = VirtualClock(start=0.0)
    times: list[tuple[float, int]] = []
    failed: set[int] = set()

    async def flaky(x):
        times.append((clock.monotonic(), x))
        if x not in failed:
            failed.add(x)
            raise ValueError("once")
        return x

    result = await _run(_spec(flaky, "2/s", n=2, retries=1), clock)
    assert times == [(0.0, 0), (0.5, 0), (1.0, 1), (1.5, 1)]
    assert result.stats["r"].retried == 2


async def test_waiting_for_a_turn_does_not_count_against_the_timeout():
    """Real time (call timeouts run on the event loop's clock): the third call waits
    0.4 s for its turn, ten times its timeout, and must not fail for it."""

    async def instant(x):
        return x

    spec = _spec(instant, "5/s", n=3, concurrency=3, timeout=0.04)
    async with asyncio.timeout(10):
        result = await Plumber(spec).run()
    assert result.outputs["r"] == [0, 1, 2]
    assert result.stats["r"].failed == 0
