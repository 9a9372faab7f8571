"""direct: one coroutine calling the functions in turn per item, no queues."""

import asyncio

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


async def _chain(n, clock, maps):
    fs = [inc] * maps
    total = 0
    with clock:
        async for x in source(n):
            for f in fs:
                x = await f(x)
            total += x
    return total


async def chain5(n, clock):
    return await _chain(n, clock, CHAIN_MAPS)


async def chain5_batch(n, clock):
    """chain5-batch: the same chain (this implementation has one form of it)."""
    return await chain5(n, clock)


async def long(n, clock):
    return await _chain(n, clock, LONG_MAPS)


async def diamond(n, clock):
    sa = sb = 0
    with clock:
        async for x in source(n):
            a = await inc(x)
            b = await double(x)
            sa += a
            sb += b
    return sa, sb


async def wide(n, clock):
    fs = [inc] * WIDE_BRANCHES
    total = 0
    with clock:
        async for x in source(n):
            for f in fs:
                y = await f(x)
                total += y
    return total


async def io50(n, clock):
    # no queues: IO_CONCURRENCY coroutines pull from one shared iterator
    total = 0

    async def worker(it):
        nonlocal total
        for x in it:
            y = await sleepy(x)  # not "total += await ...": it races
            total += y

    with clock:
        it = iter(range(n))
        await asyncio.gather(*(worker(it) for _ in range(IO_CONCURRENCY)))
    return total
