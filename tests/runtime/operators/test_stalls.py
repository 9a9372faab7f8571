"""Operator nodes wait through the run's stall board: a graph that can never end still raises."""

from __future__ import annotations

import asyncio

import pytest

from pipelines import GraphStalled, Plumber


async def numbers(n):
    for i in range(n):
        yield i


async def evens(x):  # drops every odd item: the branch carries fewer items
    if x % 2 == 0:
        yield x


async def keep(unit):
    return unit


def filtered(**options):
    return {
        "nodes": {
            "inp": {"coro": numbers, "args": {"n": 5000}},
            "f": {"coro": evens},
            "z": {"coro": keep, "queue_size": 8, **options},
        },
        "graph": {"inp": ["f", "z"], "f": ["z"], "z": None},
    }


@pytest.mark.parametrize(
    "options",
    [
        {"batch": {"size": 10}},
        {"batch": {"size": 10}, "concurrency": 3},
        {"window": {"count": 4}},
        {"window": {"count": 4}, "concurrency": 3},
        {"reduce": {"fn": max}},
        {"rate": "1000000/s"},
    ],
    ids=["batch", "batch-workers", "window", "window-workers", "reduce", "rate"],
)
async def test_a_filtered_zip_into_an_operator_raises_graph_stalled(options, no_pending_tasks):
    with pytest.raises(GraphStalled) as info:
        async with asyncio.timeout(20):
            await Plumber(filtered(**options)).run()
    assert "inp->z: full (8 items), its producer waits for space" in info.value.waits
    no_pending_tasks()


async def test_a_join_takes_what_comes_so_a_filtered_branch_does_not_stall_it():
    spec = filtered(join={"key": lambda x: x})
    spec["nodes"]["z"]["collect"] = True
    async with asyncio.timeout(20):
        result = await Plumber(spec).run()
    assert sorted(result.outputs["z"]) == [(x, x) for x in range(0, 5000, 2)]
    assert result.stats["z"].dropped == 2500  # the odd items of inp never matched
