"""Upstream compatibility: the original project's documented graphs and API run unchanged."""

from __future__ import annotations

import asyncio

import pytest
from engine_funcs.strings import StringFunc, coro_map, random_strings

from pipelines import PipelineError, Plumber, Processor, RunResult

# -- graph 1: a source of 20 random strings feeding rev and out; rev feeds out ------


def _graph1(received: list, graph_order=("inp", "rev", "out")) -> dict:
    async def input_str(self, output_q, num):
        for s in random_strings(num):
            await output_q.put(s)

    async def reverse(self, q_elt):
        (s,) = q_elt
        return s[::-1]

    async def output_str(self, q_elt):
        received.append(q_elt)

    edges = {"inp": ("rev", "out"), "rev": ("out",), "out": None}
    return {
        "nodes": {
            "inp": {"coro": input_str, "args": {"num": 20}},
            "rev": {"coro": reverse},
            "out": {"coro": output_str},
        },
        "graph": {name: edges[name] for name in graph_order},
    }


async def test_doc_graph_1_zips_original_and_reversed_in_order(no_pending_tasks):
    received: list = []
    result = await Plumber(_graph1(received)).run()
    strings = random_strings(20)
    assert len(set(strings)) == 20
    assert received == [(s, s[::-1]) for s in strings]
    assert result.status == "completed"
    assert result.stats["inp"].emitted == 20
    assert result.stats["rev"].received == 20
    assert result.stats["rev"].emitted == 20
    assert result.stats["out"].received == 20
    assert result.stats["out"].dropped == 0
    no_pending_tasks()


async def test_zip_tuple_order_follows_the_order_of_graph_keys():
    received: list = []
    await Plumber(_graph1(received, graph_order=("rev", "inp", "out"))).run()
    assert received == [(s[::-1], s) for s in random_strings(20)]


# -- graph 2: inp -> n1; n1 -> n2, n3; n2 -> n3, n4; n3 -> n4 -------------------------


def _graph2(num: int) -> dict:
    return {
        "nodes": {
            "inp": {"coro": "StringFunc.input_str", "args": {"num": num}},
            "n1": {"coro": "StringFunc.toupper"},
            "n2": {"coro": "StringFunc.reverse"},
            "n3": {"coro": "StringFunc.tolower"},
            "n4": {"coro": "StringFunc.output_str", "properties": {"aggregate_inputs": False}},
        },
        "graph": {
            "inp": ("n1",),
            "n1": ("n2", "n3"),
            "n2": ("n3", "n4"),
            "n3": ("n4",),
            "n4": None,
        },
    }


async def test_doc_graph_2_zip_and_merge_with_coro_map(no_pending_tasks):
    num = 20
    received: list = []
    plumber = Plumber(_graph2(num), coro_map=coro_map, env_vars={"received": received})
    result = await plumber.run()

    strings = random_strings(num)
    from_n2 = [s.upper()[::-1] for s in strings]
    from_n3 = [(s.upper() + "|" + s.upper()[::-1]).lower() for s in strings]
    # n4 merges: every item arrives once, as a 1-tuple, each input in its own order.
    assert all(name == "n4" for name, _ in received)
    elts = [q_elt for _, q_elt in received]
    assert all(isinstance(e, tuple) and len(e) == 1 for e in elts)
    values = [e[0] for e in elts]
    assert sorted(values) == sorted(from_n2 + from_n3)
    n2_set, n3_set = set(from_n2), set(from_n3)
    assert not n2_set & n3_set
    assert [v for v in values if v in n2_set] == from_n2
    assert [v for v in values if v in n3_set] == from_n3

    assert result.status == "completed"
    stats = result.stats
    assert (stats["inp"].emitted, stats["n1"].received, stats["n1"].emitted) == (num, num, num)
    assert (stats["n2"].received, stats["n2"].emitted) == (num, num)
    assert (stats["n3"].received, stats["n3"].emitted, stats["n3"].dropped) == (num, num, 0)
    assert (stats["n4"].received, stats["n4"].dropped) == (2 * num, 0)
    no_pending_tasks()


async def test_doc_graph_2_zip_receives_n1_then_n2_values():
    seen: list = []

    async def spy_lower(self, q_elt):
        seen.append(q_elt)
        return await StringFunc.tolower(self, q_elt)

    def mapping(name):
        return spy_lower if name == "StringFunc.tolower" else coro_map(name)

    await Plumber(_graph2(5), coro_map=mapping, env_vars={"received": []}).run()
    assert seen == [(s.upper(), s.upper()[::-1]) for s in random_strings(5)]


# -- upstream calling conventions ------------------------------------------------------


async def test_upstream_transform_gets_processor_and_one_tuple():
    calls: list = []

    async def source(self, output_q):
        for i in range(3):
            await output_q.put(i)

    async def work(self, q_elt, factor):
        calls.append((self, q_elt))
        return q_elt[0] * factor

    spec = {
        "nodes": {
            "src": {"coro": source},
            "work": {"coro": work, "args": {"factor": 10}, "collect": True},
        },
        "graph": {"src": ["work"], "work": None},
    }
    plumber = Plumber(spec)
    result = await plumber.run()
    assert result.outputs["work"] == [0, 10, 20]
    assert [q for _, q in calls] == [(0,), (1,), (2,)]
    assert all(isinstance(p, Processor) and p.name == "work" for p, _ in calls)
    assert calls[0][0] is plumber.nodes[1]


async def test_upstream_source_gets_its_processor_and_env_vars():
    seen: dict = {}

    async def source(self, output_q):
        seen["name"] = self.name
        seen["env"] = self.env_vars
        await output_q.put("x")

    spec = {
        "nodes": {"src": {"coro": source}, "out": {"coro": _collect_sink(), "collect": True}},
        "graph": {"src": ["out"], "out": None},
    }
    await Plumber(spec, env_vars={"sid": "abc"}).run()
    assert seen == {"name": "src", "env": {"sid": "abc"}}


def _collect_sink():
    async def out(item):
        return item

    return out


async def test_upstream_merge_gets_one_tuples_in_arrival_order_per_input():
    got: list = []

    async def a(self, output_q):
        for i in range(4):
            await output_q.put(("a", i))

    async def b(self, output_q):
        for i in range(3):
            await output_q.put(("b", i))

    async def sink(self, q_elt):
        got.append(q_elt)

    spec = {
        "nodes": {
            "a": {"coro": a},
            "b": {"coro": b},
            "m": {"coro": sink, "properties": {"aggregate_inputs": False}},
        },
        "graph": {"a": ["m"], "b": ["m"], "m": None},
    }
    result = await Plumber(spec).run()
    assert all(len(e) == 1 for e in got)
    items = [e[0] for e in got]
    assert [x for x in items if x[0] == "a"] == [("a", i) for i in range(4)]
    assert [x for x in items if x[0] == "b"] == [("b", i) for i in range(3)]
    assert result.stats["m"].received == 7


# -- create_pipeline / wait / nodes -----------------------------------------------------


async def test_create_pipeline_starts_in_background_and_wait_returns_the_result(no_pending_tasks):
    received: list = []
    plumber = Plumber(_graph2(6), coro_map=coro_map, env_vars={"received": received})
    plumber.create_pipeline()
    # It returned at once: nothing has run yet.
    assert received == []
    assert all(p.stats.started is None for p in plumber.nodes)
    result = await plumber.wait()
    assert isinstance(result, RunResult)
    assert result.status == "completed"
    assert len(received) == 12
    no_pending_tasks()


async def test_wait_raises_the_error_of_a_background_run():
    async def boom(item):
        raise KeyError(item)

    spec = {
        "nodes": {"src": {"coro": [1, 2]}, "boom": {"coro": boom}},
        "graph": {"src": ["boom"], "boom": None},
    }
    plumber = Plumber(spec)
    plumber.create_pipeline()
    with pytest.raises(PipelineError) as info:
        await plumber.wait()
    assert info.value.node == "boom"
    assert isinstance(info.value.__cause__, KeyError)


def test_nodes_lists_processors_with_name_and_env_vars():
    env = {"sid": 42}
    plumber = Plumber(_graph2(3), coro_map=coro_map, env_vars=env)
    nodes = plumber.nodes
    assert [p.name for p in nodes] == ["inp", "n1", "n2", "n3", "n4"]
    assert all(isinstance(p, Processor) for p in nodes)
    assert all(p.env_vars == {"sid": 42} for p in nodes)


async def test_create_pipeline_from_inside_a_running_loop_returns_immediately():
    gate = asyncio.Event()

    async def source():
        await gate.wait()
        yield 1

    spec = {
        "nodes": {"src": {"coro": source}, "out": {"coro": _collect_sink(), "collect": True}},
        "graph": {"src": ["out"], "out": None},
    }
    plumber = Plumber(spec)
    plumber.create_pipeline()  # would hang here if it ran the graph in the foreground
    gate.set()
    result = await plumber.wait()
    assert result.outputs["out"] == [1]


async def test_put_nowait_from_an_upstream_source_records_the_link_peak():
    class Rig:
        @classmethod
        async def burst(cls, self, output_q, num):
            for i in range(num):
                output_q.put_nowait(i)  # no await: the consumer cannot run meanwhile
            assert output_q.qsize() == num

        @classmethod
        async def keep(cls, self, q_elt):
            return q_elt[0]

    spec = {
        "nodes": {
            "rig": {"coro": Rig.burst, "args": {"num": 5}},
            "out": {"coro": Rig.keep, "collect": True},
        },
        "graph": {"rig": ["out"], "out": None},
    }
    result = await Plumber(spec).run()
    assert result.outputs["out"] == [0, 1, 2, 3, 4]
    assert result.stats["out"].peak_depth == 5
    assert result.stats["rig"].emitted == 5


async def test_put_nowait_into_a_collecting_source_keeps_the_values():
    class Rig:
        @classmethod
        async def burst(cls, self, output_q):
            for i in range(3):
                output_q.put_nowait(i)

    spec = {"nodes": {"rig": {"coro": Rig.burst, "collect": True}}, "graph": {"rig": None}}
    result = await Plumber(spec).run()
    assert result.outputs["rig"] == [0, 1, 2]
    assert result.stats["rig"].emitted == 3
