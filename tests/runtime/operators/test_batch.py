"""batch: lists of up to size items, timeouts on the run's clock, lists passed between batch nodes."""

from __future__ import annotations

import asyncio

import pytest
from engine_funcs import run_spec
from engine_funcs.timed import at_times, started

from pipelines import DeadLetter, PipelineError, Plumber
from pipelines.runtime.operators import ChunkLink
from pipelines.testing import VirtualClock


def _numbers(n):
    async def numbers():
        for i in range(n):
            yield i

    return numbers


async def as_list(xs):
    return [list(xs)]  # one result per call: the list it got


def _spec(source, size, timeout=None, fn=as_list, **extra):
    batch = {"size": size} if timeout is None else {"size": size, "timeout": timeout}
    return {
        "nodes": {
            "src": {"coro": source},
            "b": {"coro": fn, "batch": batch, "collect": True, **extra},
        },
        "graph": {"src": ["b"], "b": None},
    }


async def test_lists_of_size_items_and_a_shorter_one_at_the_end():
    result = await run_spec(_spec(_numbers(10), 4))
    assert result.outputs["b"] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    stats = result.stats["b"]
    assert (stats.received, stats.emitted, stats.dropped) == (10, 3, 0)


@pytest.mark.parametrize("queue_size", [1, 3, 5, 1024])
async def test_a_link_smaller_than_the_batch_still_fills_whole_lists(queue_size):
    result = await run_spec(_spec(_numbers(12), 5, queue_size=queue_size))
    assert result.outputs["b"] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]


async def test_each_result_of_the_iterable_is_one_item_downstream():
    async def split(xs):
        return (x * 10 for x in xs)  # any iterable

    async def nothing(xs):
        return None  # no results

    async def pairs(xs):  # an async generator: its results are gathered
        for x in xs:
            yield (x, x)

    def threaded(xs):  # a plain def runs in a thread
        return [sum(xs)]

    assert (await run_spec(_spec(_numbers(5), 2, fn=split))).outputs["b"] == [0, 10, 20, 30, 40]
    empty = await run_spec(_spec(_numbers(5), 2, fn=nothing))
    assert (empty.outputs["b"], empty.stats["b"].emitted) == ([], 0)
    assert (await run_spec(_spec(_numbers(3), 2, fn=pairs))).outputs["b"] == [
        (0, 0),
        (1, 1),
        (2, 2),
    ]
    assert (await run_spec(_spec(_numbers(5), 2, fn=threaded))).outputs["b"] == [1, 5, 4]


async def test_timeout_calls_a_shorter_list_timeout_seconds_after_its_first_item():
    calls: list[tuple[float, list[int]]] = []
    clock = VirtualClock(start=0.0)

    async def record(xs):
        calls.append((clock.monotonic(), list(xs)))
        return []

    schedule = [(1.0, 0), (1.5, 1), (2.0, 2), (2.25, 3), (2.5, 4), (10.0, 5), (10.5, 6)]
    spec = _spec(at_times(schedule), 3, timeout=2.0, fn=record)
    _plumber, clock, task = started(spec, clock)
    await clock.advance(2.1)
    assert calls == [(2.0, [0, 1, 2])]  # full before its timeout
    await clock.advance_to(4.24)
    assert calls == [(2.0, [0, 1, 2])]
    await clock.advance_to(4.25)  # 2 s after item 3, its list's first
    assert calls == [(2.0, [0, 1, 2]), (4.25, [3, 4])]
    await clock.advance(20)
    await task
    # items 5 and 6: the stream ended before their timeout
    assert calls[2:] == [(10.5, [5, 6])]


async def test_a_timeout_batch_of_a_zip_waits_for_whole_tuples():
    clock = VirtualClock(start=0.0)
    calls: list[tuple[float, list]] = []

    async def record(xs):
        calls.append((clock.monotonic(), list(xs)))

    spec = {
        "nodes": {
            "a": {"coro": at_times([(0, "a0"), (1, "a1"), (5, "a2")])},
            "b": {"coro": at_times([(0, "b0"), (3, "b1"), (6, "b2")])},
            "z": {"coro": record, "batch": {"size": 10, "timeout": 2}},
        },
        "graph": {"a": ["z"], "b": ["z"], "z": None},
    }
    _plumber, clock, task = started(spec, clock)
    await clock.advance(10)
    result = await task
    assert calls == [(2.0, [("a0", "b0")]), (5.0, [("a1", "b1")]), (6.0, [("a2", "b2")])]
    assert result.stats["z"].received == 3


async def test_a_chain_of_batch_nodes_passes_lists_and_recuts_them():
    async def inc(xs):
        return [x + 1 for x in xs]

    async def flat(xs):  # returns more results than items
        return [y for x in xs for y in (x, -x)]

    spec = {
        "nodes": {
            "src": {"coro": _numbers(10)},
            "a": {"coro": inc, "batch": {"size": 4}},
            "b": {"coro": flat, "batch": {"size": 4}},
            "c": {"coro": as_list, "batch": {"size": 3}, "collect": True},
        },
        "graph": {"src": ["a"], "a": ["b"], "b": ["c"], "c": None},
    }
    plumber = Plumber(spec)
    result = await plumber.run()
    values = [y for x in range(1, 11) for y in (x, -x)]
    assert result.outputs["c"] == [values[i : i + 3] for i in range(0, 20, 3)]
    links = {p.name: p.input_links[0] for p in plumber.nodes if p.input_links}
    assert all(isinstance(links[name], ChunkLink) for name in ("a", "b", "c"))
    stats = result.stats
    assert (stats["a"].received, stats["a"].emitted) == (10, 10)
    assert (stats["b"].received, stats["b"].emitted) == (10, 20)
    assert (stats["c"].received, stats["c"].emitted) == (20, 7)


async def test_a_list_of_exactly_size_items_reaches_the_next_batch_node_as_it_is():
    seen: list[int] = []

    async def same(xs):
        return xs

    async def ident(xs):
        seen.append(id(xs))
        return []

    spec = {
        "nodes": {
            "src": {"coro": _numbers(8)},
            "a": {"coro": same, "batch": {"size": 4}},
            "b": {"coro": ident, "batch": {"size": 4}},
        },
        "graph": {"src": ["a"], "a": ["b"], "b": None},
    }
    lists: list[int] = []

    async def same_recorded(xs):
        lists.append(id(xs))
        return xs

    spec["nodes"]["a"]["coro"] = same_recorded
    await run_spec(spec)
    assert seen == lists and len(seen) == 2  # no copy, no re-batching


async def test_fan_out_of_a_batch_node_gives_each_output_its_own_list():
    async def same(xs):
        return xs

    async def mutate(xs):
        xs.append("x")  # must not be seen by the other branch
        return [list(xs)]

    spec = {
        "nodes": {
            "src": {"coro": _numbers(4)},
            "a": {"coro": same, "batch": {"size": 2}},
            "b": {"coro": mutate, "batch": {"size": 2}, "collect": True},
            "c": {"coro": as_list, "batch": {"size": 2}, "collect": True},
            "d": {"coro": keep_item, "collect": True},
        },
        "graph": {"src": ["a"], "a": ["b", "c", "d"], "b": None, "c": None, "d": None},
    }
    result = await run_spec(spec)
    assert result.outputs["c"] == [[0, 1], [2, 3]]
    assert result.outputs["b"] == [[0, 1, "x"], [2, 3, "x"]]
    assert result.outputs["d"] == [0, 1, 2, 3]  # an item link gets single items


async def keep_item(x):
    return x


async def test_drain_calls_what_the_batch_holds():
    clock = VirtualClock(start=0.0)
    got: list[list[int]] = []

    async def record(xs):
        got.append(list(xs))

    async def endless(processor):
        i = 0
        while True:
            await processor.clock.sleep(1)
            yield i
            i += 1

    plumber, clock, task = started(_spec(endless, 4, fn=record), clock)
    await clock.advance(6.5)  # items 0..5 produced
    assert got == [[0, 1, 2, 3]]
    await plumber.stop(drain=True)
    result = await task
    assert result.status == "stopped"
    assert got == [[0, 1, 2, 3], [4, 5]]
    assert result.stats["b"].dropped == 0


async def test_drain_stops_a_source_pumping_lists_and_loses_none_of_its_list():
    """An async source feeding only a batch node without timeout builds lists itself."""
    clock = VirtualClock(start=0.0)
    got: list[list[int]] = []

    async def record(xs):
        got.append(list(xs))

    async def endless(processor):
        i = 0
        while True:
            await processor.clock.sleep(1)
            yield i
            i += 1

    plumber, clock, task = started(_spec(endless, 3, fn=record), clock)
    assert isinstance(plumber["b"].input_links[0], ChunkLink)
    await clock.advance(5.5)
    assert got == [[0, 1, 2]]
    await plumber.stop(drain=True)
    await task
    assert got == [[0, 1, 2], [3, 4]]


async def test_cancelling_the_run_counts_what_the_batch_holds_as_dropped():
    clock = VirtualClock(start=0.0)
    release = asyncio.Event()
    calls: list[list[int]] = []

    async def record(xs):
        calls.append(list(xs))
        if xs[0] == 4:
            await release.wait()  # stuck in the call

    spec = {
        "nodes": {
            "src": {"coro": at_times([(t, t) for t in range(8)])},
            "b": {"coro": record, "batch": {"size": 2, "timeout": 100}},
        },
        "graph": {"src": ["b"], "b": None},
    }
    plumber, clock, task = started(spec, clock)
    await clock.advance(2.5)  # [0, 1] called, [2] being filled
    assert calls == [[0, 1]]
    plumber.request_stop(drain=False)
    result = await task
    assert result.status == "stopped"
    assert (result.stats["b"].received, result.stats["b"].dropped) == (3, 1)

    plumber, clock, task = started(spec, VirtualClock(start=0.0))
    calls.clear()
    await clock.advance(6.5)  # [4, 5] in a call that does not end; 6 waits in the link
    assert calls == [[0, 1], [2, 3], [4, 5]]
    plumber.request_stop(drain=False)
    result = await task
    assert (result.stats["b"].received, result.stats["b"].dropped) == (6, 2)


async def test_a_failed_batch_counts_its_items_and_is_skipped_or_dead_lettered():
    async def picky(xs):
        if 2 in xs:
            raise ValueError("no 2")
        return xs

    skipped = await run_spec(_spec(_numbers(6), 2, fn=picky, on_error="skip"))
    assert skipped.outputs["b"] == [0, 1, 4, 5]
    assert skipped.stats["b"].failed == 2

    dead = []

    async def morgue(record):
        dead.append(record)

    spec = _spec(_numbers(6), 2, fn=picky, on_error="dlq")
    spec["nodes"]["dlq"] = {"coro": morgue}
    spec["graph"]["dlq"] = None
    await run_spec(spec)
    assert [(d.node, d.item) for d in dead] == [("b", [2, 3])]
    assert isinstance(dead[0], DeadLetter)

    with pytest.raises(PipelineError) as caught:
        await run_spec(_spec(_numbers(6), 2, fn=picky))
    assert caught.value.node == "b" and caught.value.item == "[2, 3]"


async def test_concurrent_batches_keep_their_order():
    order: list[int] = []

    async def slow_first(xs):
        # the first list waits until the others have been called
        if xs[0] == 0:
            while len(order) < 2:
                await asyncio.sleep(0)
        order.append(xs[0])
        return [xs[0]]

    result = await run_spec(_spec(_numbers(6), 2, fn=slow_first, concurrency=3))
    assert order == [2, 4, 0]
    assert result.outputs["b"] == [0, 2, 4]
    assert result.stats["b"].peak_in_flight == 2  # [2, 3] and [4, 5] end at once


async def test_upstream_style_batch_function_gets_the_list_as_its_one_input():
    class Funcs:
        @classmethod
        async def total(cls, self, q_elt):
            (xs,) = q_elt
            return [(self.name, sum(xs))]

    result = await run_spec(_spec(_numbers(4), 2, fn=Funcs.total))
    assert result.outputs["b"] == [("b", 1), ("b", 5)]


async def test_a_batch_function_can_run_in_a_process():
    from engine_funcs.procs import batch_squares

    result = await run_spec(_spec(_numbers(5), 2, fn=batch_squares, executor="process"))
    assert result.outputs["b"] == [0, 1, 4, 9, 16]


async def test_sampled_busy_time_counts_calls_not_items():
    from pipelines.runtime.sampling import arm

    plumber: Plumber | None = None

    async def total(xs):
        assert plumber is not None
        arm(plumber._nodes["b"])  # time the next call (sampling does this every 50 ms)
        return [sum(xs)]

    plumber = Plumber(_spec(_numbers(400), 100, fn=total), sample_calls=True)
    result = await plumber.run()
    stats = result.stats["b"]
    node = plumber._nodes["b"]
    assert node.calls == 4 and stats.received == 400
    assert node.latency.count == 3  # calls 2, 3 and 4 were timed
    assert stats.busy == pytest.approx(node.latency.mean() * 4)  # 4 calls, not 400 items
