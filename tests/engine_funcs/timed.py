"""Helpers for operator tests: sources that emit on the run's clock, runs on a VirtualClock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from pipelines import Plumber, RunResult
from pipelines.testing import VirtualClock

__all__ = ["at_times", "keep", "run_virtual", "started"]


def at_times(schedule: Iterable[tuple[float, Any]]):
    """A source yielding each ``item`` when the run's clock reaches ``t`` (``(t, item)`` pairs)."""
    events = list(schedule)

    async def timed(processor):
        for t, item in events:
            await processor.clock.sleep_until(t)
            yield item

    return timed


async def keep(unit):
    """A transform that passes what it gets on (to collect it)."""
    return unit


def started(spec: dict[str, Any], clock: VirtualClock | None = None, **kwargs: Any):
    """A Plumber on ``clock`` (a fresh VirtualClock at 0.0 by default) and its running task."""
    clock = clock if clock is not None else VirtualClock(start=0.0)
    plumber = Plumber(spec, clock=clock, **kwargs)
    task = asyncio.create_task(plumber.run())
    return plumber, clock, task


async def run_virtual(spec: dict[str, Any], until: float = 1000.0, **kwargs: Any) -> RunResult:
    """Run ``spec`` on a VirtualClock at 0.0, advancing it to ``until``; the run must end by then."""
    _plumber, clock, task = started(spec, **kwargs)
    await clock.advance(until)
    async with asyncio.timeout(10):
        return await task
