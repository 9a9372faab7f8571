"""pypeln (pypeln.task): stages with default options (workers=1, unbounded
queues) except where the workload needs concurrency. No zip operator, so no
diamond; fan-out works by reusing a stage as the input of several stages."""

import pypeln as pl

from bench.workloads import (
    CHAIN_MAPS,
    IO_CONCURRENCY,
    LONG_MAPS,
    WIDE_BRANCHES,
    inc,
    sleepy,
    source,
)


class _Sum:
    def __init__(self):
        self.total = 0

    async def __call__(self, x):
        self.total += x


async def _run(clock, stage, acc):
    with clock:
        await stage
    return acc.total


async def _chain(n, clock, maps):
    stage = pl.task.from_iterable(source(n))
    for _ in range(maps):
        stage = pl.task.map(inc, stage)
    acc = _Sum()
    return await _run(clock, pl.task.each(acc, stage), acc)


async def chain5(n, clock):
    return await _chain(n, clock, CHAIN_MAPS)


async def long(n, clock):
    return await _chain(n, clock, LONG_MAPS)


async def wide(n, clock):
    src = pl.task.from_iterable(source(n))
    merged = pl.task.concat([pl.task.map(inc, src) for _ in range(WIDE_BRANCHES)])
    acc = _Sum()
    return await _run(clock, pl.task.each(acc, merged), acc)


async def io50(n, clock):
    stage = pl.task.map(sleepy, pl.task.from_iterable(source(n)), workers=IO_CONCURRENCY)
    acc = _Sum()
    return await _run(clock, pl.task.each(acc, stage), acc)
