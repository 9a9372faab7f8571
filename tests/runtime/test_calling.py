"""Calling conventions: plain functions, generators, iterables, threads and processes."""

from __future__ import annotations

import os
import threading

import pytest
from engine_funcs import chain_spec, run_spec
from engine_funcs.procs import pid_of, square

from pipelines import Plumber, Processor


def _sink():
    async def keep(item):
        return item

    return {"coro": keep, "collect": True}


# -- plain style -------------------------------------------------------------------------


async def test_plain_async_function_gets_the_bare_item_and_args():
    seen: list = []

    async def scale(item, factor, offset=0):
        seen.append(item)
        return item * factor + offset

    spec = chain_spec(
        ("src", {"coro": [1, 2, 3]}),
        ("scale", {"coro": scale, "args": {"factor": 10, "offset": 1}}),
        ("out", _sink()),
    )
    result = await run_spec(spec)
    assert seen == [1, 2, 3]
    assert result.outputs["out"] == [11, 21, 31]


async def test_plain_function_with_processor_keyword_gets_its_processor():
    seen: list = []

    async def tag(item, *, processor):
        seen.append(processor)
        return (processor.name, processor.env_vars["sid"], item)

    spec = chain_spec(("src", {"coro": ["a", "b"]}), ("tag", {"coro": tag}), ("out", _sink()))
    plumber = Plumber(spec, env_vars={"sid": "s1"})
    result = await plumber.run()
    assert result.outputs["out"] == [("tag", "s1", "a"), ("tag", "s1", "b")]
    assert all(isinstance(p, Processor) for p in seen)
    assert seen[0] is seen[1] is plumber.nodes[1]


async def test_plain_def_with_processor_keyword_gets_its_processor():
    def tag(item, processor=None):
        return (processor.name, item)

    spec = chain_spec(("src", {"coro": [1]}), ("tag", {"coro": tag}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [("tag", 1)]


async def test_a_transform_returning_none_forwards_none():
    async def nothing(item):
        return None

    spec = chain_spec(("src", {"coro": range(4)}), ("t", {"coro": nothing}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [None, None, None, None]
    assert result.stats["t"].emitted == 4
    assert result.stats["out"].received == 4


# -- sources -----------------------------------------------------------------------------


async def test_async_generator_source():
    async def numbers(n):
        for i in range(n):
            yield i

    spec = chain_spec(("src", {"coro": numbers, "args": {"n": 5}}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [0, 1, 2, 3, 4]
    assert result.stats["src"].emitted == 5


async def test_async_generator_source_is_closed_at_its_end():
    closed: list = []

    async def numbers():
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    result = await run_spec(chain_spec(("src", {"coro": numbers}), ("out", _sink())))
    assert result.outputs["out"] == [1, 2]
    assert closed == [True]


async def test_sync_generator_source_runs_off_the_loop_thread():
    loop_thread = threading.current_thread()
    threads: list = []

    def numbers(n):
        for i in range(n):
            threads.append(threading.current_thread())
            yield i * 2

    spec = chain_spec(("src", {"coro": numbers, "args": {"n": 4}}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [0, 2, 4, 6]
    assert len(threads) == 4
    assert all(t is not loop_thread for t in threads)


@pytest.mark.parametrize(
    "iterable", [[3, 1, 2], (3, 1, 2), range(3, 0, -1)], ids=["list", "tuple", "range"]
)
async def test_iterable_source(iterable):
    result = await run_spec(chain_spec(("src", {"coro": iterable}), ("out", _sink())))
    assert result.outputs["out"] == list(iterable)


async def test_empty_sources_end_the_run():
    async def nothing():
        return
        yield

    spec = {
        "nodes": {
            "a": {"coro": []},
            "b": {"coro": nothing},
            "out": {**_sink(), "properties": {"aggregate_inputs": False}},
        },
        "graph": {"a": ["out"], "b": ["out"], "out": None},
    }
    result = await run_spec(spec)
    assert result.status == "completed"
    assert result.outputs["out"] == []
    assert result.stats["out"].received == 0


async def test_upstream_classmethod_source_with_args():
    class Rig:
        @classmethod
        async def input_str(cls, self, output_q, num):
            for i in range(num):
                await output_q.put(f"{self.name}-{i}")

    spec = chain_spec(("inp", {"coro": Rig.input_str, "args": {"num": 3}}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == ["inp-0", "inp-1", "inp-2"]


# -- transforms with 0..n results ----------------------------------------------------------


async def test_async_generator_transform_yields_zero_to_n_results_per_item():
    async def repeat(item):
        for _ in range(item):
            yield item

    spec = chain_spec(("src", {"coro": [2, 0, 3, 1]}), ("rep", {"coro": repeat}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [2, 2, 3, 3, 3, 1]
    assert (result.stats["rep"].received, result.stats["rep"].emitted) == (4, 6)


async def test_async_generator_transform_as_a_filter():
    async def evens(item):
        if item % 2 == 0:
            yield item

    spec = chain_spec(("src", {"coro": range(10)}), ("f", {"coro": evens}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [0, 2, 4, 6, 8]


async def test_sync_generator_transform_runs_off_the_loop_and_flat_maps():
    loop_thread = threading.current_thread()
    threads: list = []

    def split(item):
        threads.append(threading.current_thread())
        yield from item.split()

    spec = chain_spec(
        ("src", {"coro": ["a b", "", "c d e"]}), ("split", {"coro": split}), ("out", _sink())
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == ["a", "b", "c", "d", "e"]
    assert len(threads) == 3 and all(t is not loop_thread for t in threads)


async def test_upstream_async_generator_transform_gets_a_tuple():
    async def explode(self, q_elt):
        (word,) = q_elt
        for ch in word:
            yield ch

    spec = chain_spec(("src", {"coro": ["ab", "c"]}), ("x", {"coro": explode}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == ["a", "b", "c"]


# -- collect -------------------------------------------------------------------------------


async def test_collect_keeps_what_a_transform_returns_as_well_as_forwarding_it():
    async def inc(item):
        return item + 1

    spec = chain_spec(
        ("src", {"coro": [1, 2]}), ("inc", {"coro": inc, "collect": True}), ("out", _sink())
    )
    result = await run_spec(spec)
    assert result.outputs == {"inc": [2, 3], "out": [2, 3]}


async def test_nodes_without_collect_have_no_outputs_entry():
    async def noop(item):
        return item

    result = await run_spec(chain_spec(("src", {"coro": [1]}), ("s", {"coro": noop})))
    assert result.outputs == {}


# -- executors -----------------------------------------------------------------------------


async def test_plain_def_runs_off_the_event_loop_thread():
    loop_thread = threading.current_thread()
    threads: list = []

    def double(item):
        threads.append(threading.current_thread())
        return item * 2

    spec = chain_spec(("src", {"coro": range(5)}), ("double", {"coro": double}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [0, 2, 4, 6, 8]
    assert len(threads) == 5
    assert all(t is not loop_thread for t in threads)


async def test_plain_def_sink_runs_off_the_event_loop_thread():
    loop_ident = threading.get_ident()
    idents: list = []

    def sink(item):
        idents.append(threading.get_ident())

    spec = chain_spec(("src", {"coro": range(3)}), ("sink", {"coro": sink}))
    await run_spec(spec)
    assert len(idents) == 3 and loop_ident not in idents


async def test_executor_thread_is_accepted_for_plain_def():
    loop_thread = threading.current_thread()

    def where(item):
        return threading.current_thread() is not loop_thread

    spec = chain_spec(
        ("src", {"coro": [1, 2]}), ("w", {"coro": where, "executor": "thread"}), ("out", _sink())
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [True, True]


async def test_executor_process_runs_in_worker_processes(no_pending_tasks):
    spec = chain_spec(
        ("src", {"coro": range(6)}),
        ("pid", {"coro": pid_of, "executor": "process", "concurrency": 2}),
        ("out", _sink()),
    )
    result = await run_spec(spec)
    outs = result.outputs["out"]
    assert [item for item, _ in outs] == list(range(6))
    assert all(pid != os.getpid() for _, pid in outs)
    no_pending_tasks()


async def test_executor_process_by_import_string():
    spec = chain_spec(
        ("src", {"coro": [2, 3]}),
        ("sq", {"coro": "engine_funcs.procs:square", "executor": "process"}),
        ("out", _sink()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [square(2), square(3)]


async def test_async_function_runs_on_the_loop_thread():
    loop_thread = threading.current_thread()

    async def where(item):
        return threading.current_thread() is loop_thread

    spec = chain_spec(("src", {"coro": [1]}), ("w", {"coro": where}), ("out", _sink()))
    result = await run_spec(spec)
    assert result.outputs["out"] == [True]
