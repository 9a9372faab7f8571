"""json refuses what it cannot carry (as a node failure); pickle carries it when the spec opts in."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis_runs import SPECS, plumber, run_on, workers

from pipelines import DeliveryError, PipelineError, Plumber
from pipelines.runtime.distributed.keys import Keys


async def test_pickle_carries_any_value_when_the_spec_asks(redis_url, caplog):
    remote = await run_on("pickled.yaml", redis_url, 2)
    local = await Plumber.from_file(SPECS / "pickled.yaml").run()
    assert remote.outputs["out"] == local.outputs["out"] == [complex(i, 1) for i in range(50)]
    assert any(
        "pickle serializer: anyone who can write to" in r.getMessage() for r in caplog.records
    )


async def test_json_fails_the_node_that_makes_a_value_it_cannot_carry(redis_url):
    error = await run_on("unpicklable.yaml", redis_url, 1)
    assert isinstance(error, PipelineError)
    assert (error.node, error.item) == ("cplx", "0")
    assert str(error).startswith(
        "node 'cplx' failed on item 0: EncodeError: a value of type builtins.complex cannot be "
        "sent with the json serializer"
    )


async def test_an_entry_delivered_too_often_fails_the_run_without_a_dead_letter_route(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    ids: list[str] = []
    try:
        p = plumber("reclaim_raise.yaml", redis_url)
        p.subscribe(lambda e: ids.append(e.data["run_id"]) if e.kind == "run_started" else None)
        task = asyncio.create_task(p.run())
        while not ids or await client.xlen(Keys().run(ids[0]).stream("work", 0)) < 5:
            await asyncio.sleep(0.005)
        stream = Keys().run(ids[0]).stream("work", 0)
        ((_, ((first, _),)),) = await client.xreadgroup("g", "ghost", {stream: ">"}, count=1)
        await client.xclaim(stream, "g", "ghost", 0, [first], retrycount=3, justid=True)
        async with workers("reclaim_raise.yaml", redis_url, 1):
            with pytest.raises(PipelineError) as info:
                await asyncio.wait_for(task, 20)
    finally:
        await client.aclose()
    error = info.value
    assert (error.node, error.item, error.attempts) == ("work", "0", 4)
    assert isinstance(error.__cause__, DeliveryError)
    assert error.result.status == "failed"
