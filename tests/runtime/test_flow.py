"""Links: zip and merge, fan-out, backpressure, end of stream and stats."""

from __future__ import annotations

import asyncio

import pytest
from engine_funcs import chain_spec, run_spec

from pipelines import DEFAULT_QUEUE_SIZE, UnboundedQueueWarning


def _keep(**options):
    async def keep(item):
        return item

    return {"coro": keep, "collect": True, **options}


def _gen(values):
    async def source():
        for value in values:
            yield value

    return source


# -- zip -----------------------------------------------------------------------------------


async def test_zip_is_the_default_for_several_inputs_and_gives_tuples_in_order():
    spec = {
        "nodes": {"a": {"coro": [1, 2, 3]}, "b": {"coro": ["x", "y", "z"]}, "z": _keep()},
        "graph": {"a": ["z"], "b": ["z"], "z": None},
    }
    result = await run_spec(spec)
    assert result.outputs["z"] == [(1, "x"), (2, "y"), (3, "z")]
    assert (result.stats["z"].received, result.stats["z"].dropped) == (3, 0)


async def test_zip_of_three_inputs_follows_graph_key_order():
    spec = {
        "nodes": {
            "a": {"coro": ["a1", "a2"]},
            "b": {"coro": ["b1", "b2"]},
            "c": {"coro": ["c1", "c2"]},
            "z": _keep(),
        },
        "graph": {"c": ["z"], "a": ["z"], "b": ["z"], "z": None},
    }
    result = await run_spec(spec)
    assert result.outputs["z"] == [("c1", "a1", "b1"), ("c2", "a2", "b2")]


@pytest.mark.parametrize("queue_size", [1, 2, None], ids=["q1", "q2", "default"])
@pytest.mark.parametrize("lengths", [(5, 8), (8, 5), (0, 4), (4, 0), (3, 30)])
async def test_zip_of_unequal_inputs_ends_and_counts_dropped(lengths, queue_size):
    la, lb = lengths
    options = {} if queue_size is None else {"queue_size": queue_size}
    spec = {
        "nodes": {
            "a": {"coro": _gen([f"a{i}" for i in range(la)])},
            "b": {"coro": _gen([f"b{i}" for i in range(lb)])},
            "z": _keep(**options),
        },
        "graph": {"a": ["z"], "b": ["z"], "z": None},
    }
    result = await run_spec(spec)
    n = min(la, lb)
    assert result.status == "completed"
    assert result.outputs["z"] == [(f"a{i}", f"b{i}") for i in range(n)]
    assert result.stats["z"].received == n
    assert result.stats["z"].dropped == abs(la - lb)
    assert result.stats["a"].emitted == la
    assert result.stats["b"].emitted == lb


async def test_zip_ends_when_a_short_input_ends_while_a_long_one_is_blocked_upstream():
    """The long input's producer is blocked on a full link of capacity 1; the zip must free it."""
    spec = {
        "nodes": {
            "short": {"coro": [1]},
            "long": {"coro": _gen(range(100))},
            "relay": {"coro": _keep()["coro"], "queue_size": 1},
            "z": _keep(queue_size=1),
        },
        "graph": {"short": ["z"], "long": ["relay"], "relay": ["z"], "z": None},
    }
    result = await run_spec(spec)
    assert result.outputs["z"] == [(1, 0)]
    assert result.stats["z"].dropped == 99
    assert result.stats["long"].emitted == 100


async def test_plain_zip_function_gets_one_tuple_argument():
    seen: list = []

    async def pair(item):
        seen.append(item)
        return item[0] + item[1]

    spec = {
        "nodes": {
            "a": {"coro": [1, 2]},
            "b": {"coro": [10, 20]},
            "p": {"coro": pair, "collect": True},
        },
        "graph": {"a": ["p"], "b": ["p"], "p": None},
    }
    result = await run_spec(spec)
    assert seen == [(1, 10), (2, 20)]
    assert result.outputs["p"] == [11, 22]


# -- merge ---------------------------------------------------------------------------------


async def test_merge_gets_bare_items_from_every_input_each_in_its_own_order():
    spec = {
        "nodes": {
            "a": {"coro": _gen([("a", i) for i in range(5)])},
            "b": {"coro": _gen([("b", i) for i in range(3)])},
            "m": _keep(properties={"aggregate_inputs": False}),
        },
        "graph": {"a": ["m"], "b": ["m"], "m": None},
    }
    result = await run_spec(spec)
    got = result.outputs["m"]
    assert len(got) == 8
    assert [x for x in got if x[0] == "a"] == [("a", i) for i in range(5)]
    assert [x for x in got if x[0] == "b"] == [("b", i) for i in range(3)]
    assert (result.stats["m"].received, result.stats["m"].dropped) == (8, 0)


async def test_merge_ends_only_when_all_inputs_end():
    release = asyncio.Event()

    async def late():
        await release.wait()
        yield "late"

    async def early():
        yield "early"
        release.set()

    spec = {
        "nodes": {
            "early": {"coro": early},
            "late": {"coro": late},
            "m": _keep(properties={"aggregate_inputs": False}),
        },
        "graph": {"early": ["m"], "late": ["m"], "m": None},
    }
    result = await run_spec(spec)
    assert result.outputs["m"] == ["early", "late"]


async def test_merge_of_a_single_input_is_like_a_plain_link():
    spec = chain_spec(("a", {"coro": [1, 2]}), ("m", _keep(properties={"aggregate_inputs": False})))
    result = await run_spec(spec)
    assert result.outputs["m"] == [1, 2]


# -- fan-out -------------------------------------------------------------------------------


async def test_fan_out_sends_every_result_to_every_output_in_order():
    async def double(item):
        return item * 2

    spec = {
        "nodes": {
            "src": {"coro": range(50)},
            "d": {"coro": double},
            "x": _keep(),
            "y": _keep(queue_size=1),
            "z": _keep(queue_size=3),
        },
        "graph": {"src": ["d"], "d": ["x", "y", "z"], "x": None, "y": None, "z": None},
    }
    result = await run_spec(spec)
    expected = [i * 2 for i in range(50)]
    assert result.outputs == {"x": expected, "y": expected, "z": expected}
    assert result.stats["d"].emitted == 50


async def test_fan_out_from_a_source_to_sinks_of_different_speed():
    slow_steps = 3

    async def slow(item):
        for _ in range(slow_steps):
            await asyncio.sleep(0)
        return item

    spec = {
        "nodes": {
            "src": {"coro": _gen(range(40))},
            "fast": _keep(queue_size=2),
            "slow": {"coro": slow, "collect": True, "queue_size": 2},
        },
        "graph": {"src": ["fast", "slow"], "fast": None, "slow": None},
    }
    result = await run_spec(spec)
    assert result.outputs["fast"] == list(range(40))
    assert result.outputs["slow"] == list(range(40))


# -- backpressure --------------------------------------------------------------------------


class _Meter:
    """Counts items produced (at the source) and calls started at the slow sink."""

    def __init__(self) -> None:
        self.produced = 0
        self.consumed = 0
        self.max_gap = 0

    def source(self, n):
        meter = self

        async def produce():
            for i in range(n):
                meter.produced += 1
                meter.max_gap = max(meter.max_gap, meter.produced - meter.consumed)
                yield i

        return produce

    def slow_sink(self, steps=3):
        meter = self

        async def consume(item):
            meter.consumed += 1
            for _ in range(steps):  # lag behind the producer, without timing
                await asyncio.sleep(0)
            return item

        return consume


@pytest.mark.parametrize("n", [50, 500])
@pytest.mark.parametrize("queue_size", [1, 4])
async def test_backpressure_bounds_how_far_the_producer_runs_ahead(queue_size, n):
    meter = _Meter()
    spec = chain_spec(
        ("src", {"coro": meter.source(n)}),
        ("sink", {"coro": meter.slow_sink(), "queue_size": queue_size, "collect": True}),
    )
    result = await run_spec(spec)
    assert result.outputs["sink"] == list(range(n))
    # Produced but not yet taken by the sink: the link's capacity plus the one
    # item the source holds while it waits for space.
    assert meter.max_gap <= queue_size + 1
    assert meter.max_gap >= queue_size  # the slow sink really did hold the producer back
    assert result.stats["sink"].peak_depth == queue_size


@pytest.mark.parametrize("n", [60, 600])
async def test_backpressure_through_a_chain_is_bounded_by_the_sum_of_capacities(n):
    meter = _Meter()
    q = 2

    async def relay(item):
        return item

    spec = chain_spec(
        ("src", {"coro": meter.source(n)}),
        ("t1", {"coro": relay, "queue_size": q}),
        ("t2", {"coro": relay, "queue_size": q}),
        ("sink", {"coro": meter.slow_sink(), "queue_size": q, "collect": True}),
    )
    result = await run_spec(spec)
    assert result.outputs["sink"] == list(range(n))
    # Three links of capacity q, and one item held by each of src, t1 and t2.
    assert meter.max_gap <= 3 * q + 3
    assert meter.max_gap >= 3 * q
    for node in ("t1", "t2", "sink"):
        assert result.stats[node].peak_depth <= q


async def test_backpressure_with_concurrent_unordered_consumer():
    meter = _Meter()
    n, q, c = 200, 3, 4
    spec = chain_spec(
        ("src", {"coro": meter.source(n)}),
        (
            "sink",
            {
                "coro": meter.slow_sink(),
                "queue_size": q,
                "concurrency": c,
                "ordered": False,
                "collect": True,
            },
        ),
    )
    result = await run_spec(spec)
    assert sorted(result.outputs["sink"]) == list(range(n))
    # Capacity, plus calls in flight, plus the item the source holds.
    assert meter.max_gap <= q + c + 1
    assert result.stats["sink"].peak_in_flight == c
    assert result.stats["sink"].peak_depth <= q


async def test_a_slow_branch_of_a_fan_out_holds_back_the_producer():
    meter = _Meter()
    q = 3
    spec = {
        "nodes": {
            "src": {"coro": meter.source(300)},
            "fast": _keep(queue_size=50),
            "slow": {"coro": meter.slow_sink(), "queue_size": q, "collect": True},
        },
        "graph": {"src": ["fast", "slow"], "fast": None, "slow": None},
    }
    result = await run_spec(spec)
    assert result.outputs["fast"] == result.outputs["slow"] == list(range(300))
    assert q <= meter.max_gap <= q + 1


async def test_merge_link_depth_never_exceeds_its_capacity():
    meter = _Meter()
    spec = {
        "nodes": {
            "a": {"coro": _gen(range(100))},
            "b": {"coro": _gen(range(100, 200))},
            "m": {
                "coro": meter.slow_sink(),
                "queue_size": 3,
                "collect": True,
                "properties": {"aggregate_inputs": False},
            },
        },
        "graph": {"a": ["m"], "b": ["m"], "m": None},
    }
    result = await run_spec(spec)
    assert sorted(result.outputs["m"]) == list(range(200))
    assert result.stats["m"].peak_depth == 3


async def test_zip_link_depth_never_exceeds_its_capacity():
    meter = _Meter()

    async def slow_pair(item):
        return await meter.slow_sink()(item)

    spec = {
        "nodes": {
            "a": {"coro": _gen(range(60))},
            "b": {"coro": range(60)},
            "z": {"coro": slow_pair, "queue_size": 2, "collect": True},
        },
        "graph": {"a": ["z"], "b": ["z"], "z": None},
    }
    result = await run_spec(spec)
    assert result.outputs["z"] == [(i, i) for i in range(60)]
    assert result.stats["z"].peak_depth == 2


async def test_default_queue_size_is_bounded():
    assert 0 < DEFAULT_QUEUE_SIZE < 10**6
    meter = _Meter()
    n = 3 * DEFAULT_QUEUE_SIZE
    spec = chain_spec(
        ("src", {"coro": meter.source(n)}), ("sink", {"coro": meter.slow_sink(), "collect": True})
    )
    result = await run_spec(spec)
    assert result.outputs["sink"] == list(range(n))
    assert DEFAULT_QUEUE_SIZE <= meter.max_gap <= DEFAULT_QUEUE_SIZE + 1
    assert result.stats["sink"].peak_depth == DEFAULT_QUEUE_SIZE


# -- end of stream -------------------------------------------------------------------------


async def test_run_returns_completed_once_every_node_is_done_with_exact_stats(no_pending_tasks):
    async def evens(item):
        if item % 2 == 0:
            yield item

    def square(item):
        return item * item

    spec = {
        "nodes": {
            "src": {"coro": _gen(range(10))},
            "evens": {"coro": evens},
            "square": {"coro": square},
            "keep": _keep(),
            "also": _keep(),
        },
        "graph": {
            "src": ["evens", "also"],
            "evens": ["square"],
            "square": ["keep"],
            "keep": None,
            "also": None,
        },
    }
    result = await run_spec(spec)
    assert result.status == "completed"
    assert not result.stopped
    assert result.outputs == {"keep": [0, 4, 16, 36, 64], "also": list(range(10))}
    counts = {
        name: (s.received, s.emitted, s.failed, s.dropped) for name, s in result.stats.items()
    }
    assert counts == {
        "src": (0, 10, 0, 0),
        "evens": (10, 5, 0, 0),
        "square": (5, 5, 0, 0),
        "keep": (5, 5, 0, 0),
        "also": (10, 10, 0, 0),
    }
    for stats in result.stats.values():
        assert stats.started is not None and stats.finished is not None
        assert stats.duration >= 0
    assert result.duration >= 0
    no_pending_tasks()


async def test_upstream_graph_that_ran_forever_now_ends():
    """Upstream sinks looped forever on their queue; here the end of the source ends the run."""

    async def rig(self, output_q):
        for i in range(3):
            await output_q.put(i)

    async def show(self, q_elt):
        return q_elt

    spec = {
        "nodes": {"rig": {"coro": rig}, "show": {"coro": show, "collect": True}},
        "graph": {"rig": ("show",), "show": None},
    }
    result = await run_spec(spec)
    assert result.outputs["show"] == [(0,), (1,), (2,)]


async def test_queue_size_zero_is_unbounded():
    n = 3 * DEFAULT_QUEUE_SIZE
    source_done = asyncio.Event()

    async def source():
        for i in range(n):
            yield i
        source_done.set()

    async def sink(item):
        if item == 0:
            await source_done.wait()  # only an unbounded link lets the source finish first
        return item

    spec = chain_spec(
        ("src", {"coro": source}), ("sink", {"coro": sink, "queue_size": 0, "collect": True})
    )
    with pytest.warns(UnboundedQueueWarning, match="'sink' has queue_size 0"):
        result = await run_spec(spec)
    assert result.outputs["sink"] == list(range(n))
    assert result.stats["sink"].peak_depth >= n - 1
