"""The original API pieces this engine keeps: hand-built Processors, upstream names, an auto-starting Plumber."""

from __future__ import annotations

import asyncio

import pytest

import pipelines
from pipelines.plumber import Plumber as UpstreamPlumber
from pipelines.processor import InputProcessor, Processor
from pipelines.spec.options import UPSTREAM_CONCURRENCY


class Funcs:
    in_flight = 0
    peak = 0

    @classmethod
    async def join(cls, self, q_elt):
        cls.in_flight += 1
        cls.peak = max(cls.peak, cls.in_flight)
        await asyncio.sleep(0.01)
        cls.in_flight -= 1
        return "+".join(q_elt)

    @classmethod
    async def rig(cls, self, output_q, count=3):
        for i in range(count):
            await output_q.put(f"s{i}")

    @classmethod
    async def upper(cls, self, q_elt):
        return q_elt[0].upper()


async def test_a_hand_built_processor_zips_its_input_queues_and_feeds_every_output():
    a, b = asyncio.Queue(), asyncio.Queue()
    out1, out2 = asyncio.Queue(), asyncio.Queue()
    Funcs.in_flight = Funcs.peak = 0
    proc = Processor(coro=Funcs.join, input_srcs=[a, b], output_dests=[out1, out2])
    assert type(proc).__name__ == "UpstreamProcessor"
    assert isinstance(proc, pipelines.Processor)
    for i in range(5):
        await a.put(f"a{i}")
        await b.put(f"b{i}")
    got1 = sorted([await asyncio.wait_for(out1.get(), 5) for _ in range(5)])
    got2 = sorted([await asyncio.wait_for(out2.get(), 5) for _ in range(5)])
    assert got1 == got2 == [f"a{i}+b{i}" for i in range(5)]
    assert Funcs.peak > 1  # calls overlap, as in the original
    assert proc.stats.received == 5 and proc.stats.emitted == 5
    await proc.aclose()


async def test_hand_built_processor_names_match_the_original(no_pending_tasks):
    src, dest = asyncio.Queue(), asyncio.Queue()
    proc = Processor(coro=Funcs.upper, input_srcs=[src], output_dests=[dest], env_vars={"k": 1})
    try:
        assert proc.name == "None"
        assert proc.env_vars == {"k": 1}
        assert proc.liason_queues == ([src], [dest])
        assert proc.processor_coro == Funcs.upper
        assert isinstance(proc.input_queue, asyncio.Queue)
        assert isinstance(proc.output_queue, asyncio.Queue)
        assert str(proc) == f"<Processor:{proc.uuid};None>"
        await src.put("x")
        assert await asyncio.wait_for(dest.get(), 5) == "X"
    finally:
        await proc.aclose()
    no_pending_tasks()


async def test_an_input_processor_calls_its_rig_once():
    dest = asyncio.Queue()
    proc = InputProcessor(name="inp", coro=Funcs.rig, output_dests=[dest], count=3)
    try:
        assert [await asyncio.wait_for(dest.get(), 5) for _ in range(3)] == ["s0", "s1", "s2"]
        assert proc.kind == "source"
    finally:
        await proc.aclose()


def test_a_hand_built_processor_needs_a_running_loop():
    with pytest.raises(RuntimeError):
        Processor(coro=Funcs.upper, input_srcs=[], output_dests=[])


async def test_a_failed_call_is_logged_and_counted_as_in_the_original(caplog):
    async def bad(self, q_elt):
        raise ValueError("nope")

    src, dest = asyncio.Queue(), asyncio.Queue()
    proc = Processor(name="b", coro=bad, input_srcs=[src], output_dests=[dest])
    try:
        await src.put("x")
        for _ in range(50):
            await asyncio.sleep(0)
            if proc.stats.failed:
                break
        assert proc.stats.failed == 1
        assert "processor 'b' failed on item ('x',) (ValueError: nope)" in caplog.text
    finally:
        await proc.aclose()


def _spec():
    return {
        "nodes": {
            "inp": {"coro": Funcs.rig, "args": {"count": 4}},
            "up": {"coro": Funcs.upper, "collect": True},
        },
        "graph": {"inp": ("up",), "up": None},
    }


async def test_the_upstream_plumber_starts_when_built_in_a_running_loop():
    plumber = UpstreamPlumber(_spec())
    started = plumber.create_pipeline()  # the run started on construction, not a new one
    assert plumber.create_pipeline() is started
    result = await plumber.run()  # waits for that run
    assert result.outputs["up"] == ["S0", "S1", "S2", "S3"]
    assert started.done()


async def test_the_plumber_of_the_package_never_starts_on_its_own():
    plumber = pipelines.Plumber(_spec())
    await asyncio.sleep(0.01)
    assert not plumber.running
    assert (await plumber.run()).outputs["up"] == ["S0", "S1", "S2", "S3"]


def test_the_upstream_plumber_outside_a_loop_is_a_plain_plumber():
    plumber = UpstreamPlumber(_spec())
    assert asyncio.run(plumber.run()).outputs["up"] == ["S0", "S1", "S2", "S3"]


def test_liason_graph_and_liason_queues_show_the_links():
    plumber = pipelines.Plumber(_spec())
    graph = plumber.liason_graph
    assert graph[0][0] is None and graph[1][0] is None and graph[1][1] is None
    link = graph[0][1]
    assert link.name == "inp->up"
    inp, up = plumber.nodes
    assert inp.liason_queues == ((), (link,))
    assert up.liason_queues == ((link,), ())
    assert up.input_queue is link and inp.input_queue is None


def test_original_style_transforms_overlap_their_calls_unless_the_spec_says_otherwise():
    plan = pipelines.Plumber(_spec()).plan
    assert plan.nodes["up"].options.concurrency == UPSTREAM_CONCURRENCY
    assert plan.nodes["inp"].options.concurrency == 1  # a source is called once
    spec = _spec()
    spec["nodes"]["up"]["concurrency"] = 1
    assert pipelines.Plumber(spec).plan.nodes["up"].options.concurrency == 1
    spec = _spec()
    spec["defaults"] = {"concurrency": 2}
    assert pipelines.Plumber(spec).plan.nodes["up"].options.concurrency == 2
