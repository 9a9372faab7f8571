"""At least once: entries of a vanished consumer are taken over, split, or failed after too many deliveries."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from redis_runs import SPECS, plumber, workers

from pipelines import Plumber
from pipelines.runtime.distributed.keys import Keys


async def _start_without_workers(p, client, node: str, entries: int):
    """Start the run and wait until ``node``'s stream holds ``entries`` entries; the run id."""
    ids: list[str] = []
    p.subscribe(lambda e: ids.append(e.data["run_id"]) if e.kind == "run_started" else None)
    task = asyncio.create_task(p.run())
    while not ids or await client.xlen(Keys().run(ids[0]).stream(node, 0)) < entries:
        assert not task.done()
        await asyncio.sleep(0.005)
    return task, Keys().run(ids[0]).stream(node, 0)


async def test_entries_of_a_consumer_that_vanished_are_taken_over_and_split(redis_url, caplog):
    caplog.set_level(logging.INFO, logger="pipelines")
    client = aioredis.Redis.from_url(redis_url)
    try:
        p = plumber("reclaim.yaml", redis_url)
        task, stream = await _start_without_workers(p, client, "work", 6)
        # A consumer reads every entry (5 batches of 20 and the source's end marker)
        # and vanishes: they stay pending in its name.
        taken = await client.xreadgroup("g", "ghost", {stream: ">"}, count=10)
        assert sum(len(entries) for _, entries in taken) == 6
        async with workers("reclaim.yaml", redis_url, 1):
            result = await asyncio.wait_for(task, 20)
    finally:
        await client.aclose()
    assert result.status == "completed"
    assert result.outputs["out"] == list(range(100))
    assert result.outputs["rejects"] == []
    assert (result.stats["work"].received, result.stats["work"].failed) == (100, 0)
    messages = [r.getMessage() for r in caplog.records]
    assert any("took over 6 idle entries" in m for m in messages)
    splits = [m for m in messages if "came back (delivery 2): split into 20 entries" in m]
    assert len(splits) == 5


async def test_an_entry_delivered_too_often_goes_to_the_dead_letter_node(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    try:
        p = plumber("reclaim.yaml", redis_url)
        task, stream = await _start_without_workers(p, client, "work", 5)
        ((_, ((first, _),)),) = await client.xreadgroup("g", "ghost", {stream: ">"}, count=1)
        # As if three workers had died on it: delivered 3 times; the take-over makes 4.
        await client.xclaim(stream, "g", "ghost", 0, [first], retrycount=3, justid=True)
        async with workers("reclaim.yaml", redis_url, 1):
            result = await asyncio.wait_for(task, 20)
    finally:
        await client.aclose()
    assert result.status == "completed"
    message = (
        "delivered 4 times without being acknowledged (max_deliveries 3): a worker may crash on it"
    )
    assert result.outputs["rejects"] == [
        f"work: {i} (DeliveryError: {message}) x4" for i in range(20)
    ]
    assert result.outputs["out"] == list(range(20, 100))
    assert (result.stats["work"].received, result.stats["work"].failed) == (100, 20)


async def test_a_worker_keeps_a_slow_entry_from_being_taken_over(redis_url):
    p = plumber("keepalive.yaml", redis_url)
    calls = p.plan.nodes["slowpoke"].coro.__globals__["CALLS"]
    calls.clear()
    async with workers("keepalive.yaml", redis_url, 2):
        result = await asyncio.wait_for(p.run(), 20)
    assert result.outputs["out"] == [0, 1, 2, 3, 4]
    assert calls == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1}  # item 0 ran once, though 3x reclaim_after


async def test_each_item_has_a_stable_id(redis_url):
    p = plumber("ids.yaml", redis_url)
    ids: list[str] = []
    p.subscribe(lambda e: ids.append(e.data["run_id"]) if e.kind == "run_started" else None)
    async with workers("ids.yaml", redis_url, 2):
        result = await p.run()
    run = ids[0]
    assert result.outputs["seen"] == [(f"{run}:{i}", i) for i in range(40)]
    assert result.outputs["thread"] == [(f"{run}:{i}", i) for i in range(40)]
    local = await Plumber.from_file(SPECS / "ids.yaml").run()
    assert local.outputs["seen"] == [(None, i) for i in range(40)]
