"""reduce: a fold per key, emitted as (key, value) at the end of the stream or a drain."""

from __future__ import annotations

import asyncio

import pytest
from engine_funcs import run_spec
from engine_funcs.timed import started

from pipelines import PipelineError


def _spec(source, reduce, coro=None, **extra):
    node = {"reduce": reduce, "collect": True, **extra}
    if coro is not None:
        node["coro"] = coro
    return {"nodes": {"src": {"coro": source}, "r": node}, "graph": {"src": ["r"], "r": None}}


def word_key(word):
    return word[0]


def count(acc, _):
    return acc + 1


async def test_counts_per_key_in_first_seen_order_at_the_end():
    words = ["apple", "bee", "avocado", "cat", "bird", "ant"]
    result = await run_spec(_spec(words, {"fn": count, "initial": 0}, key=word_key))
    assert result.outputs["r"] == [("a", 3), ("b", 2), ("c", 1)]
    stats = result.stats["r"]
    assert (stats.received, stats.emitted, stats.dropped) == (6, 3, 0)


async def test_without_initial_the_first_item_of_a_key_starts_its_value():
    result = await run_spec(_spec([3, 4, 5, 6], {"fn": "operator:mul"}, key=lambda x: x % 2))
    assert result.outputs["r"] == [(1, 15), (0, 24)]


async def test_without_key_everything_folds_into_one_value():
    result = await run_spec(_spec(range(5), {"fn": "operator:add", "initial": 100}))
    assert result.outputs["r"] == [(None, 110)]


async def test_a_mutable_initial_value_is_copied_for_each_key():
    def collect(acc, word):
        acc.append(word)
        return acc

    result = await run_spec(_spec(["ab", "b", "ac"], {"fn": collect, "initial": []}, key=word_key))
    assert result.outputs["r"] == [("a", ["ab", "ac"]), ("b", ["b"])]


async def test_an_async_reduce_function_is_awaited_in_arrival_order():
    seen = []

    async def slow_add(acc, x):
        await asyncio.sleep(0)
        seen.append(x)
        return acc + x

    result = await run_spec(_spec(range(6), {"fn": slow_add, "initial": 0}, key=lambda x: x % 3))
    assert seen == [0, 1, 2, 3, 4, 5]
    assert result.outputs["r"] == [(0, 3), (1, 5), (2, 7)]


async def test_the_function_gets_each_key_value_pair():
    async def label(pair):
        key, value = pair
        return f"{key}={value}"

    result = await run_spec(
        _spec(["ax", "by", "az"], {"fn": count, "initial": 0}, coro=label, key=word_key)
    )
    assert result.outputs["r"] == ["a=2", "b=1"]


async def test_drain_emits_what_was_folded_so_far():
    async def endless(processor):
        i = 0
        while True:
            await processor.clock.sleep(1)
            yield i
            i += 1

    plumber, clock, task = started(_spec(endless, {"fn": "operator:add"}, key=lambda x: x % 2))
    await clock.advance(5.5)  # 0..4
    assert plumber["r"].collected == []
    await plumber.stop(drain=True)
    result = await task
    assert result.outputs["r"] == [(0, 6), (1, 4)]


async def test_cancelling_counts_the_folded_items_as_dropped():
    async def endless(processor):
        i = 0
        while True:
            await processor.clock.sleep(1)
            yield i
            i += 1

    plumber, clock, task = started(_spec(endless, {"fn": "operator:add"}, key=lambda x: x % 2))
    await clock.advance(5.5)
    await plumber.stop(drain=False)
    result = await task
    assert (result.stats["r"].received, result.stats["r"].dropped) == (5, 5)


async def test_a_failing_fold_or_key_is_an_item_failure_per_on_error():
    def picky(acc, x):
        if x == 3:
            raise ValueError("no 3")
        return acc + x

    result = await run_spec(_spec(range(6), {"fn": picky}, key=lambda x: x % 2, on_error="skip"))
    assert result.outputs["r"] == [(0, 6), (1, 6)]
    assert result.stats["r"].failed == 1

    with pytest.raises(PipelineError, match="unhashable") as caught:
        await run_spec(_spec([1, 2], {"fn": picky}, key=lambda x: [x]))
    assert caught.value.node == "r" and caught.value.item == "1"
