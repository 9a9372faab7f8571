"""raw-queue-batched: raw-queue, but every queue operation moves a list of up to
256 items."""

import asyncio

from bench.workloads import (
    BATCH,
    CHAIN_MAPS,
    LONG_MAPS,
    QUEUE_SIZE,
    WIDE_BRANCHES,
    double,
    inc,
    source,
)

END = object()


def _q():
    return asyncio.Queue(maxsize=QUEUE_SIZE)


async def _source(n, outs):
    batch = []
    async for x in source(n):
        batch.append(x)
        if len(batch) == BATCH:
            for q in outs:
                await q.put(batch)
            batch = []
    if batch:
        for q in outs:
            await q.put(batch)
    for q in outs:
        await q.put(END)


async def _map(f, inq, outs):
    while True:
        batch = await inq.get()
        if batch is END:
            break
        out = [await f(x) for x in batch]
        for q in outs:
            await q.put(out)
    for q in outs:
        await q.put(END)


async def _sink(inq, sources=1):
    total = 0
    ended = 0
    while True:
        batch = await inq.get()
        if batch is END:
            ended += 1
            if ended == sources:
                return total
        else:
            total += sum(batch)


async def _zip_sink(qa, qb):
    # both branches keep the source's batching, so batches line up
    sa = sb = 0
    while True:
        a = await qa.get()
        b = await qb.get()
        if a is END or b is END:
            return sa, sb
        if len(a) != len(b):
            raise RuntimeError("zipped batches differ in length")
        sa += sum(a)
        sb += sum(b)


async def _run(clock, coros):
    with clock:
        results = await asyncio.gather(*(asyncio.create_task(c) for c in coros))
    return results[-1]


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
