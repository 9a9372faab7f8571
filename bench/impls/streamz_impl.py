"""streamz: push-based streams, ``Stream(asynchronous=True)`` and
``map_async`` (streamz's operator for coroutine functions). The source emits
with ``await src.emit(x)``; streamz has no end-of-stream, so the run is done
when the sink has seen every expected item."""

import asyncio

from streamz import Stream

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


class _Sink:
    def __init__(self, expect, add=lambda x: x):
        self.total = 0
        self.left = expect
        self.add = add
        self.done = asyncio.Event()

    def __call__(self, x):
        self.total += self.add(x)
        self.left -= 1
        if self.left == 0:
            self.done.set()


async def _run(clock, n, src, sink):
    with clock:
        async for x in source(n):
            await src.emit(x)
        if n:
            await sink.done.wait()
    return sink.total


async def _chain(n, clock, maps):
    src = Stream(asynchronous=True)
    s = src
    for _ in range(maps):
        s = s.map_async(inc)
    sink = _Sink(n)
    s.sink(sink)
    return await _run(clock, n, src, sink)


async def chain5(n, clock):
    return await _chain(n, clock, CHAIN_MAPS)


async def long(n, clock):
    return await _chain(n, clock, LONG_MAPS)


async def diamond(n, clock):
    src = Stream(asynchronous=True)
    sums = [0, 0]

    def add(ab):
        sums[0] += ab[0]
        sums[1] += ab[1]
        return 0

    sink = _Sink(n, add=add)
    src.map_async(inc).zip(src.map_async(double)).sink(sink)
    await _run(clock, n, src, sink)
    return tuple(sums)


async def wide(n, clock):
    src = Stream(asynchronous=True)
    branches = [src.map_async(inc) for _ in range(WIDE_BRANCHES)]
    sink = _Sink(n * WIDE_BRANCHES)
    branches[0].union(*branches[1:]).sink(sink)
    return await _run(clock, n, src, sink)


async def io50(n, clock):
    src = Stream(asynchronous=True)
    sink = _Sink(n)
    src.map_async(sleepy, parallelism=IO_CONCURRENCY).sink(sink)
    return await _run(clock, n, src, sink)
