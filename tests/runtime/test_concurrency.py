"""concurrency: N calls in flight, ordered and unordered output, no task per item."""

from __future__ import annotations

import asyncio
import threading

import pytest
from engine_funcs import Gate, chain_spec, run_spec


def _keep():
    async def keep(item):
        return item

    return {"coro": keep, "collect": True}


@pytest.mark.parametrize("concurrency", [2, 4])
async def test_concurrency_runs_up_to_n_calls_at_once(concurrency):
    gate = Gate(concurrency)
    n = concurrency * 5
    spec = chain_spec(
        ("src", {"coro": range(n)}),
        ("work", {"coro": gate.passage, "concurrency": concurrency}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    # The gate opens only when `concurrency` calls wait at once: the run would
    # hang if fewer ran together, and the peak shows no more did.
    assert gate.peak == concurrency
    assert result.stats["work"].peak_in_flight == concurrency
    assert sorted(result.outputs["out"]) == list(range(n))
    assert (result.stats["work"].received, result.stats["work"].emitted) == (n, n)


async def test_concurrency_one_runs_calls_one_at_a_time():
    in_flight = peak = 0

    async def work(item):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        in_flight -= 1
        return item

    spec = chain_spec(("src", {"coro": range(20)}), ("work", {"coro": work}), ("out", _keep()))
    result = await run_spec(spec)
    assert peak == 1
    assert result.stats["work"].peak_in_flight == 1
    assert result.outputs["out"] == list(range(20))


async def test_ordered_output_keeps_input_order_when_later_items_finish_first():
    gate = Gate(4, release="reverse")
    spec = chain_spec(
        ("src", {"coro": range(12)}),
        ("work", {"coro": gate.passage, "concurrency": 4}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert gate.completed != sorted(gate.completed)  # later items really finished first
    assert sorted(gate.completed) == list(range(12))
    assert result.outputs["out"] == list(range(12))


async def test_ordered_is_the_default():
    gate = Gate(3, release="reverse")
    spec = chain_spec(
        ("src", {"coro": range(9)}),
        ("work", {"coro": gate.passage, "concurrency": 3, "ordered": True, "collect": True}),
    )
    result = await run_spec(spec)
    assert result.outputs["work"] == list(range(9))
    assert gate.completed[:3] == [2, 1, 0]


async def test_unordered_output_is_in_completion_order():
    gate = Gate(4, release="reverse")
    spec = chain_spec(
        ("src", {"coro": range(12)}),
        ("work", {"coro": gate.passage, "concurrency": 4, "ordered": False}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == gate.completed
    assert result.outputs["out"] != list(range(12))
    assert sorted(result.outputs["out"]) == list(range(12))


async def test_ordered_async_generator_transform_keeps_groups_in_input_order():
    gate = Gate(3, release="reverse")

    async def twice(item):
        await gate.passage(item)
        yield (item, "a")
        yield (item, "b")

    spec = chain_spec(
        ("src", {"coro": range(6)}),
        ("twice", {"coro": twice, "concurrency": 3}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [(i, tag) for i in range(6) for tag in ("a", "b")]
    assert result.stats["twice"].emitted == 12


async def test_ordered_threads_keep_input_order_when_later_items_finish_first():
    # Plain def calls in the thread pool; in each group of c items, item i
    # waits until item i+1 has finished: the group must run at once, and
    # finishes in reverse order.
    n, c = 8, 4
    done = [threading.Event() for _ in range(n)]
    finished: list[int] = []
    lock = threading.Lock()

    def work(item):
        if item % c != c - 1:
            assert done[item + 1].wait(10)
        with lock:
            finished.append(item)
        done[item].set()
        return item

    spec = chain_spec(
        ("src", {"coro": range(n)}),
        ("work", {"coro": work, "concurrency": c}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert finished == [3, 2, 1, 0, 7, 6, 5, 4]
    assert result.outputs["out"] == list(range(n))
    assert result.stats["work"].peak_in_flight == c


@pytest.mark.parametrize("c", [2, 3])
async def test_zip_with_concurrency_keeps_pairs_together(c):
    gate = Gate(c, release="reverse")

    async def pair(item):
        await gate.passage(item)
        return item

    spec = {
        "nodes": {
            "a": {"coro": range(3 * c)},
            "b": {"coro": [f"b{i}" for i in range(3 * c)]},
            "z": {"coro": pair, "concurrency": c, "collect": True},
        },
        "graph": {"a": ["z"], "b": ["z"], "z": None},
    }
    result = await run_spec(spec)
    assert result.outputs["z"] == [(i, f"b{i}") for i in range(3 * c)]


# -- no task per item ------------------------------------------------------------------------


async def _count_tasks_of_a_run(spec):
    loop = asyncio.get_running_loop()
    created: list[str] = []
    previous = loop.get_task_factory()

    def factory(loop, coro, context=None):
        task = (
            asyncio.Task(coro, loop=loop)
            if context is None
            else asyncio.Task(coro, loop=loop, context=context)
        )
        created.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        result = await run_spec(spec)
    finally:
        loop.set_task_factory(previous)
    return result, len(created)


def _shapes():
    async def coroutine(item):
        return item + 1

    async def agen(item):
        yield item + 1

    def plain(item):
        return item + 1

    def gen(item):
        yield item + 1

    async def upstream(self, q_elt):
        return q_elt[0] + 1

    return {
        "coroutine": coroutine,
        "async_gen": agen,
        "def": plain,
        "generator": gen,
        "upstream": upstream,
    }


@pytest.mark.parametrize("shape", list(_shapes()))
@pytest.mark.parametrize(
    "policy", [{}, {"retries": 2, "timeout": 30}], ids=["plain", "retries+timeout"]
)
async def test_concurrency_one_creates_no_task_per_item(shape, policy):
    fn = _shapes()[shape]
    # Original-style transforms overlap their calls unless told otherwise.
    policy = {**policy, "concurrency": 1}

    def spec(n):
        return {
            "nodes": {
                "src": {"coro": range(n)},
                "a": {"coro": fn, **policy},
                "b": {"coro": fn, **policy},
                "fan": {"coro": fn, "concurrency": 1},
                "z": {"coro": _keep()["coro"]},
                "out": {"coro": _keep()["coro"], "collect": True, "queue_size": 2},
                "tap": {"coro": fn, "queue_size": 1},
            },
            "graph": {
                "src": ["a", "fan"],
                "a": ["b", "tap"],
                "b": ["z"],
                "fan": ["z"],
                "z": ["out"],
                "out": None,
                "tap": None,
            },
        }

    small, tasks_small = await _count_tasks_of_a_run(spec(10))
    large, tasks_large = await _count_tasks_of_a_run(spec(400))
    assert large.outputs["out"] == [(i + 2, i + 1) for i in range(400)]
    assert small.outputs["out"] == [(i + 2, i + 1) for i in range(10)]
    assert tasks_large == tasks_small
    assert tasks_small <= 2 * len(spec(1)["nodes"])  # a handful per run, not per item


async def test_concurrency_one_sink_and_source_kinds_create_no_task_per_item():
    async def agen(n):
        for i in range(n):
            yield i

    def gen(n):
        yield from range(n)

    async def rig(self, output_q, n):
        for i in range(n):
            await output_q.put(i)

    async def sink(item):
        return None

    def spec(n):
        return {
            "nodes": {
                "s1": {"coro": agen, "args": {"n": n}},
                "s2": {"coro": gen, "args": {"n": n}},
                "s3": {"coro": rig, "args": {"n": n}},
                "m": {"coro": sink, "properties": {"aggregate_inputs": False}, "queue_size": 1},
            },
            "graph": {"s1": ["m"], "s2": ["m"], "s3": ["m"], "m": None},
        }

    small, tasks_small = await _count_tasks_of_a_run(spec(5))
    large, tasks_large = await _count_tasks_of_a_run(spec(300))
    assert small.stats["m"].received == 15
    assert large.stats["m"].received == 900
    assert tasks_large == tasks_small
