"""A graph that can never finish raises GraphStalled instead of hanging."""

from __future__ import annotations

import asyncio
import time

import pytest

from pipelines import GraphStalled, PipelineError, Plumber


async def numbers(n):
    for i in range(n):
        yield i


async def evens(x):  # drops every odd item: the branch carries fewer items
    if x % 2 == 0:
        yield x


async def pair(t):
    return t


def filtered_zip(n=5000, **zip_options):
    return {
        "nodes": {
            "inp": {"coro": numbers, "args": {"n": n}},
            "f": {"coro": evens},
            "z": {"coro": pair, "collect": True, **zip_options},
        },
        "graph": {"inp": ["f", "z"], "f": ["z"], "z": None},
    }


async def run_bounded(plumber):
    async with asyncio.timeout(20):  # a safety net only: the engine must not hang
        return await plumber.run()


async def test_a_zip_with_a_filtered_branch_raises_graph_stalled_naming_the_links(no_pending_tasks):
    with pytest.raises(GraphStalled) as info:
        await run_bounded(Plumber(filtered_zip()))
    err = info.value
    assert err.waits == [
        "f->z: waits for an item (0 queued)",
        "inp->f: waits for an item (0 queued)",
        "inp->z: full (1024 items), its producer waits for space",
    ]
    assert str(err).startswith("the graph is stalled: every node waits for another")
    assert "merge instead (aggregate_inputs: false)" in str(err)
    assert isinstance(err, PipelineError) and err.node is None and err.item is None
    no_pending_tasks()


async def test_a_stall_is_seen_through_a_zip_with_concurrent_workers(no_pending_tasks):
    with pytest.raises(GraphStalled) as info:
        await run_bounded(Plumber(filtered_zip(concurrency=3, queue_size=8)))
    assert "inp->z: full (8 items), its producer waits for space" in info.value.waits
    assert "z: waits for its workers" in info.value.waits
    no_pending_tasks()


async def test_a_short_filtered_zip_that_ends_is_not_a_stall():
    # Fewer items than the link holds: the source ends, the zip ends, no stall.
    result = await run_bounded(Plumber(filtered_zip(n=10)))
    assert result.outputs["z"] == [(0, 0), (1, 2), (2, 4), (3, 6), (4, 8)]
    assert result.stats["z"].dropped == 5


async def test_a_node_failure_is_reported_as_such_not_as_a_stall():
    async def boom(x):
        if x == 3:
            raise ValueError("three")
        return x

    spec = {
        "nodes": {
            "inp": {"coro": numbers, "args": {"n": 10}},
            "a": {"coro": boom},
            "z": {"coro": pair},
        },
        "graph": {"inp": ["a", "z"], "a": ["z"], "z": None},
    }
    with pytest.raises(PipelineError) as info:
        await run_bounded(Plumber(spec))
    assert type(info.value) is PipelineError
    assert info.value.node == "a"


async def test_nodes_busy_in_their_calls_are_never_taken_for_a_stall():
    # Every other node waits on the links while `slow` sleeps in its call, and
    # while `blocking` holds a thread: neither is a stall.
    async def slow(x):
        await asyncio.sleep(0.01)
        return x

    def blocking(x):
        time.sleep(0.01)
        return x

    spec = {
        "nodes": {
            "inp": {"coro": numbers, "args": {"n": 6}},
            "slow": {"coro": slow, "queue_size": 1},
            "blocking": {"coro": blocking, "queue_size": 1},
            "z": {"coro": pair, "collect": True, "queue_size": 1},
        },
        "graph": {"inp": ["slow", "blocking"], "slow": ["z"], "blocking": ["z"], "z": None},
    }
    result = await run_bounded(Plumber(spec))
    assert result.outputs["z"] == [(i, i) for i in range(6)]


async def test_a_drained_endless_graph_is_not_a_stall():
    started = asyncio.Event()

    async def endless():
        i = 0
        while True:
            yield i
            i += 1
            if i == 50:
                started.set()
            await asyncio.sleep(0)

    async def keep(x):
        return x

    spec = {
        "nodes": {
            "src": {"coro": endless},
            "a": {"coro": keep, "concurrency": 2},
            "z": {"coro": pair},
        },
        "graph": {"src": ["a", "z"], "a": ["z"], "z": None},
    }
    plumber = Plumber(spec)
    task = asyncio.create_task(run_bounded(plumber))
    async with asyncio.timeout(20):
        await started.wait()
        await plumber.stop(drain=True)
    result = await task
    assert result.status == "stopped"
    assert result.stats["z"].received == result.stats["src"].emitted
