"""aiostream: pull-based operator pipelines, ``stream.map(..., task_limit=1)``.

aiostream streams are cold: a stream used by several branches (diamond, wide)
is iterated once per branch, so the source generator runs once per branch.
The results are the same; that is how fan-out is written with aiostream.
"""

from aiostream import operator, pipe, stream

from bench.workloads import (
    CHAIN_MAPS,
    IO_CONCURRENCY,
    LONG_MAPS,
    WIDE_BRANCHES,
    double,
    inc,
    sleepy,
    source,
)


@operator
async def _source(n):
    async for x in source(n):  # a fresh generator for every iteration
        yield x


async def _drain(clock, xs):
    total = 0
    with clock:
        async with xs.stream() as items:
            async for x in items:
                total += x
    return total


async def _chain(n, clock, maps):
    xs = _source(n)
    for _ in range(maps):
        xs = xs | pipe.map(inc, task_limit=1)
    return await _drain(clock, xs)


async def chain5(n, clock):
    return await _chain(n, clock, CHAIN_MAPS)


async def long(n, clock):
    return await _chain(n, clock, LONG_MAPS)


async def diamond(n, clock):
    src = _source(n)
    a = src | pipe.map(inc, task_limit=1)
    b = src | pipe.map(double, task_limit=1)
    sa = sb = 0
    with clock:
        async with stream.zip(a, b).stream() as pairs:
            async for x, y in pairs:
                sa += x
                sb += y
    return sa, sb


async def wide(n, clock):
    src = _source(n)
    xs = stream.merge(*(src | pipe.map(inc, task_limit=1) for _ in range(WIDE_BRANCHES)))
    return await _drain(clock, xs)


async def io50(n, clock):
    xs = _source(n) | pipe.map(sleepy, ordered=False, task_limit=IO_CONCURRENCY)
    return await _drain(clock, xs)
