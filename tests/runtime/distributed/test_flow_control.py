"""Backpressure, a Redis restart, drain and cancel: links stay bounded, nothing is lost."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis_runs import plumber, workers
from redis_server import RedisServer, redis_binary

from pipelines.runtime.distributed.keys import Keys


def _run_ids(p) -> list[str]:
    ids: list[str] = []
    p.subscribe(lambda e: ids.append(e.data["run_id"]) if e.kind == "run_started" else None)
    return ids


async def test_links_stay_within_capacity_plus_one_batch(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    p = plumber("backpressure.yaml", redis_url)
    ids = _run_ids(p)
    samples: dict[str, list[tuple[int, int]]] = {"double": [], "sink": []}
    try:
        async with workers("backpressure.yaml", redis_url, 3):
            task = asyncio.create_task(p.run())
            while not task.done():
                if ids:
                    keys = Keys().run(ids[0])
                    for node in samples:
                        n = await client.hget(keys.link(node, 0), "n")
                        length = await client.xlen(keys.stream(node, 0))
                        samples[node].append((int(n or 0), length))
                await asyncio.sleep(0.002)
            result = await task
    finally:
        await client.aclose()
    assert result.status == "completed"
    assert result.stats["sink"].received == 1500
    batch = 10
    for node, capacity in (("double", 50), ("sink", 40)):
        backlog = max(n for n, _ in samples[node])
        entries = max(length for _, length in samples[node])
        assert len(samples[node]) > 50
        assert capacity <= backlog <= capacity + batch, (node, backlog)  # full, never beyond
        assert entries <= capacity + batch  # entries hold one or more items each
        assert result.stats[node].peak_depth <= capacity + batch


async def test_a_redis_restart_mid_run_loses_nothing(tmp_path):
    server = RedisServer(redis_binary(), tmp_path, durable=True)
    server.start()
    client = aioredis.Redis.from_url(server.url)
    try:
        p = plumber("restart.yaml", server.url)
        ids = _run_ids(p)
        async with workers("restart.yaml", server.url, 2):
            task = asyncio.create_task(p.run())
            received = 0
            while received < 500:
                assert not task.done()
                if ids:
                    received = int(
                        await client.hget(Keys().run(ids[0]).stats("slow"), "received") or 0
                    )
                await asyncio.sleep(0.01)
            server.crash()  # SIGKILL: what was acknowledged is in the append-only file
            await asyncio.sleep(0.3)
            server.start()
            result = await asyncio.wait_for(task, 40)
    finally:
        await client.aclose()
        server.stop()
    assert result.status == "completed"
    assert result.outputs["out"] == list(range(3000))  # all, in order, once
    assert result.stats["out"].received == 3000


async def test_stop_with_drain_lets_everything_produced_reach_the_sink(redis_url):
    p = plumber("endless.yaml", redis_url)
    seen: list[int] = []
    p.subscribe(
        lambda e: seen.append(e.data["stats"]["out"].received) if e.kind == "stats" else None
    )
    async with workers("endless.yaml", redis_url, 2):
        task = asyncio.create_task(p.run())
        while not seen or seen[-1] < 300:
            await asyncio.sleep(0.01)
        await p.stop(drain=True)
        result = await task
    assert result.status == "stopped"
    produced = result.stats["ticks"].emitted
    assert produced >= 300
    assert result.outputs["out"] == [2 * i for i in range(produced)]
    assert result.stats["double"].received == produced


async def test_stop_without_drain_ends_the_run_at_once_and_cleans_up(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    p = plumber("endless.yaml", redis_url)
    ids = _run_ids(p)
    try:
        async with workers("endless.yaml", redis_url, 2) as served:
            task = asyncio.create_task(p.run())
            while not ids or not await client.hget(Keys().run(ids[0]).stats("out"), "received"):
                await asyncio.sleep(0.01)
            await p.stop(drain=False)
            result = await task
            assert result.status == "stopped"
            for _ in range(200):  # the workers drop the run within a heartbeat
                if not any(w.servers for w in served):
                    break
                await asyncio.sleep(0.02)
            assert not any(w.servers for w in served)
        assert [key async for key in client.scan_iter(match=f"pipelines:run:{ids[0]}:*")] == []
        async for key in client.scan_iter(match="pipelines:active:*"):
            assert ids[0].encode() not in await client.smembers(key)
    finally:
        await client.aclose()


async def test_a_redis_that_stays_down_fails_the_run_with_a_clear_error(tmp_path):
    server = RedisServer(redis_binary(), tmp_path)
    server.start()
    try:
        p = plumber("endless.yaml", server.url, reconnect=1.0)
        seen: list[int] = []
        p.subscribe(
            lambda e: seen.append(1) if e.kind == "node_started" and e.node == "out" else None
        )
        async with workers("endless.yaml", server.url, 1, transport={"reconnect": 1.0}):
            task = asyncio.create_task(p.run())
            while not seen:
                await asyncio.sleep(0.01)
            server.crash()
            with pytest.raises(ConnectionError) as info:
                await asyncio.wait_for(task, 30)
    finally:
        server.stop()
    assert str(info.value).startswith(f"lost Redis at {server.url}: ")


async def test_a_worker_that_leaves_mid_run_hands_over_to_the_others(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    p = plumber("backpressure.yaml", redis_url)
    ids = _run_ids(p)
    try:
        async with workers("backpressure.yaml", redis_url, 2) as served:
            task = asyncio.create_task(p.run())
            received = 0
            while received < 300:
                if ids:
                    received = int(
                        await client.hget(Keys().run(ids[0]).stats("sink"), "received") or 0
                    )
                await asyncio.sleep(0.005)
            served[0].request_stop(drain=True)  # finishes its batches in hand, ends its replicas
            for _ in range(500):
                if not served[0].servers:
                    break
                await asyncio.sleep(0.01)
            assert not served[0].servers and served[1].servers
            result = await asyncio.wait_for(task, 30)
    finally:
        await client.aclose()
    assert result.status == "completed"
    assert [result.stats[n].received for n in ("double", "sink")] == [1500, 1500]
