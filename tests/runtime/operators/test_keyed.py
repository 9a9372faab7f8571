"""key with concurrency N: one key's items in order by one worker, other keys in parallel."""

from __future__ import annotations

import asyncio

from engine_funcs import Gate, run_spec

from pipelines import Plumber


def _spec(fn, n, **extra):
    return {
        "nodes": {
            "src": {"coro": list(range(n))},
            "k": {"coro": fn, "key": lambda x: x % 3, "collect": True, **extra},
        },
        "graph": {"src": ["k"], "k": None},
    }


async def test_different_keys_run_in_parallel():
    gate = Gate(3)  # passes only when three calls wait at once
    result = await run_spec(_spec(gate.passage, 3, concurrency=3))
    assert gate.peak == 3
    assert result.outputs["k"] == [0, 1, 2]


async def test_one_key_is_called_in_order_by_one_worker():
    running: dict[int, int] = {}
    order: dict[int, list[int]] = {}

    async def work(x):
        key = x % 3
        running[key] = running.get(key, 0) + 1
        assert running[key] == 1, "two calls of one key at once"
        for _ in range((7 * x) % 5):  # uneven durations, no real time
            await asyncio.sleep(0)
        order.setdefault(key, []).append(x)
        running[key] -= 1
        return x

    result = await run_spec(_spec(work, 30, concurrency=3))
    assert order == {k: list(range(k, 30, 3)) for k in range(3)}
    assert result.outputs["k"] == list(range(30))  # ordered: true
    assert result.stats["k"].peak_in_flight == 3


async def test_unordered_results_keep_the_order_within_a_key():
    async def work(x):
        for _ in range((7 * x) % 5):
            await asyncio.sleep(0)
        return x

    result = await run_spec(_spec(work, 30, concurrency=3, ordered=False))
    out = result.outputs["k"]
    assert sorted(out) == list(range(30))
    for k in range(3):
        assert [x for x in out if x % 3 == k] == list(range(k, 30, 3))


async def test_key_alone_with_concurrency_one_runs_the_plain_loop():
    async def same(x):
        return x

    spec = _spec(same, 5)
    assert Plumber(spec).plan.nodes["k"].options.operated is False
    spec["nodes"]["k"]["concurrency"] = 2
    assert Plumber(spec).plan.nodes["k"].options.operated is True
    result = await run_spec(_spec(same, 5))
    assert result.outputs["k"] == [0, 1, 2, 3, 4]


async def test_workers_start_on_demand_one_per_key_lane():
    seen: list[int] = []

    async def count_workers(x):
        seen.append(sum("pipelines:k:worker" in t.get_name() for t in asyncio.all_tasks()))
        return x

    spec = _spec(count_workers, 6, concurrency=10_000)
    result = await run_spec(spec)
    assert result.outputs["k"] == list(range(6))
    assert max(seen) == 3  # three keys: three lanes used, not 10,000 workers


async def test_unkeyed_workers_start_when_every_started_one_is_busy():
    gate = Gate(3)
    spec = {
        "nodes": {
            "src": {"coro": list(range(3))},
            "b": {"coro": gate.passage, "rate": "1000000/s", "concurrency": 500},
        },
        "graph": {"src": ["b"], "b": None},
    }
    await run_spec(spec)
    assert gate.peak == 3  # three calls at once: three workers, no more were needed
