"""raw-queue (the baseline): one task per node, an asyncio.Queue(maxsize=1024)
per edge, a sentinel object for the end of the stream."""

import asyncio
from concurrent.futures import ProcessPoolExecutor

from bench.workloads import (
    CHAIN_MAPS,
    IO_CONCURRENCY,
    LONG_MAPS,
    QUEUE_SIZE,
    WIDE_BRANCHES,
    cpu_task,
    double,
    inc,
    sleepy,
    source,
)

END = object()


def _q():
    return asyncio.Queue(maxsize=QUEUE_SIZE)


async def _source(n, outs):
    async for x in source(n):
        for q in outs:
            await q.put(x)
    for q in outs:
        await q.put(END)


async def _map(f, inq, outs, concurrency=1):
    async def work():
        while True:
            x = await inq.get()
            if x is END:
                await inq.put(END)  # let the other workers see it too
                return
            y = await f(x)
            for q in outs:
                await q.put(y)

    if concurrency == 1:
        await work()
    else:
        await asyncio.gather(*(work() for _ in range(concurrency)))
    for q in outs:
        await q.put(END)


async def _sink(inq, sources=1):
    """Sum the items of a merged queue; done after ``sources`` sentinels."""
    total = 0
    ended = 0
    while True:
        x = await inq.get()
        if x is END:
            ended += 1
            if ended == sources:
                return total
        else:
            total += x


async def _zip_sink(qa, qb):
    sa = sb = 0
    while True:
        a = await qa.get()
        b = await qb.get()
        if a is END or b is END:
            return sa, sb
        sa += a
        sb += b


async def _run(clock, coros):
    with clock:
        results = await asyncio.gather(*(asyncio.create_task(c) for c in coros))
    return results[-1]  # the sink is always last


async def _chain(n, clock, maps):
    qs = [_q() for _ in range(maps + 1)]
    nodes = [_source(n, [qs[0]])]
    nodes += [_map(inc, qs[i], [qs[i + 1]]) for i in range(maps)]
    nodes.append(_sink(qs[-1]))
    return await _run(clock, nodes)


async def chain5(n, clock):
    return await _chain(n, clock, CHAIN_MAPS)


async def chain5_batch(n, clock):
    """chain5-batch: the same chain (this implementation has one form of it)."""
    return await chain5(n, clock)


async def long(n, clock):
    return await _chain(n, clock, LONG_MAPS)


async def diamond(n, clock):
    sa, sb, ao, bo = _q(), _q(), _q(), _q()
    nodes = [_source(n, [sa, sb]), _map(inc, sa, [ao]), _map(double, sb, [bo]), _zip_sink(ao, bo)]
    return await _run(clock, nodes)


async def wide(n, clock):
    ins = [_q() for _ in range(WIDE_BRANCHES)]
    merged = _q()
    nodes = [_source(n, ins)]
    nodes += [_map(inc, q, [merged]) for q in ins]
    nodes.append(_sink(merged, sources=WIDE_BRANCHES))
    return await _run(clock, nodes)


async def io50(n, clock):
    qi, qo = _q(), _q()
    nodes = [_source(n, [qi]), _map(sleepy, qi, [qo], IO_CONCURRENCY), _sink(qo)]
    return await _run(clock, nodes)


async def cpu(n, clock, concurrency=1):
    qi, qo = _q(), _q()
    loop = asyncio.get_running_loop()
    with clock, ProcessPoolExecutor(max_workers=concurrency) as pool:

        async def in_pool(x):
            return await loop.run_in_executor(pool, cpu_task, x)

        result = await asyncio.gather(
            _source(n, [qi]), _map(in_pool, qi, [qo], concurrency), _sink(qo)
        )
    return result[-1]
