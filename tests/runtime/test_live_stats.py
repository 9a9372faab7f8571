"""Live figures: every node's counters reach the stats events within one period; call sampling."""

from __future__ import annotations

import asyncio

import pytest

from pipelines import Plumber
from pipelines.runtime.sampling import RESERVOIR, Latency

N = 30


async def _numbers():
    for i in range(N):
        yield i


def _events(plumber: Plumber, probe):
    seen = []

    def on(event):
        if event.kind == "stats":
            seen.append((event.data, probe()))

    plumber.subscribe(on)
    return seen


@pytest.mark.parametrize("shape", ["sink", "one-output", "zip2", "general"])
async def test_a_slow_node_s_live_counters_lag_by_at_most_one_period(shape):
    """Each stats event shows at least what the node had done at the event before.

    A slow sink used to show ``received 0`` for the whole run: its loop
    publishes its counters only when it waits or wakes a producer, and with a
    backlog it did neither.
    """
    done: list[int] = []

    async def slow(item):
        await asyncio.sleep(0.01)
        done.append(1)
        return item

    async def out(item):
        return item

    nodes = {"src": {"coro": _numbers}, "slow": {"coro": slow, "queue_size": 64}}
    graph: dict = {"src": ["slow"], "slow": None}
    if shape in ("one-output", "general"):
        graph["slow"] = ["o1"] if shape == "one-output" else ["o1", "o2"]
        for name in graph["slow"]:
            nodes[name] = {"coro": out}
            graph[name] = None
    if shape == "zip2":
        nodes["src2"] = {"coro": _numbers}
        graph = {"src": ["slow"], "src2": ["slow"], "slow": None}
    plumber = Plumber({"nodes": nodes, "graph": graph}, stats_interval=0.03)
    seen = _events(plumber, lambda: len(done))
    async with asyncio.timeout(20):
        result = await plumber.run()
    assert result.stats["slow"].received == N
    assert len(seen) >= 4
    previous_truth = 0
    for data, truth in seen:
        shown = data["stats"]["slow"].received
        assert previous_truth <= shown <= truth + 1
        previous_truth = truth
    assert seen[-2][0]["stats"]["slow"].received > 0


async def test_stats_events_carry_each_edge_s_figures():
    async def slow(item):
        await asyncio.sleep(0.005)

    spec = {
        "nodes": {"src": {"coro": _numbers}, "slow": {"coro": slow, "queue_size": 8}},
        "graph": {"src": ["slow"], "slow": None},
    }
    plumber = Plumber(spec, stats_interval=0.02)
    links = []
    plumber.subscribe(lambda e: links.append(e.data["links"]) if e.kind == "stats" else None)
    async with asyncio.timeout(20):
        await plumber.run()
    assert links
    for figures in links:
        (edge,) = figures
        assert (edge["source"], edge["target"], edge["kind"], edge["capacity"]) == (
            "src",
            "slow",
            "data",
            8,
        )
        assert 0 <= edge["depth"] <= 8
        assert edge["peak_depth"] <= 8
    assert max(f[0]["peak_depth"] for f in links) == 8
    assert plumber.link_figures() == [
        {
            "source": "src",
            "target": "slow",
            "kind": "data",
            "capacity": 8,
            "depth": 0,
            "peak_depth": 8,
            "dropped": 0,
        }
    ]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_sampled_calls_give_busy_time_and_latency(concurrency):
    async def wait(item):
        await asyncio.sleep(0.01)
        return item

    spec = {
        "nodes": {
            "src": {"coro": _numbers},
            "wait": {"coro": wait, "concurrency": concurrency},
            "out": {"coro": wait, "collect": True},
        },
        "graph": {"src": ["wait"], "wait": ["out"], "out": None},
    }
    result = await Plumber(spec, sample_calls=True).run()
    assert result.outputs["out"] == list(range(N))
    for name in ("wait", "out"):
        stats = result.stats[name]
        assert stats.received == N
        assert stats.latency_p50 is not None and stats.latency_p50 >= 0.009
        assert stats.latency_p50 <= stats.latency_p95 <= stats.latency_max
        assert stats.busy is not None and stats.busy >= N * 0.009
        assert stats.as_dict()["latency_max"] == stats.latency_max


async def test_without_sampling_there_are_no_timings():
    async def plus(item):
        return item + 1

    spec = {
        "nodes": {"src": {"coro": _numbers}, "plus": {"coro": plus, "collect": True}},
        "graph": {"src": ["plus"], "plus": None},
    }
    result = await Plumber(spec).run()
    stats = result.stats["plus"]
    assert (stats.busy, stats.latency_p50, stats.latency_p95, stats.latency_max) == (
        None,
        None,
        None,
        None,
    )


def test_latency_keeps_a_bounded_reservoir():
    latency = Latency()
    for i in range(RESERVOIR * 3):
        latency.add(float(i))
    assert len(latency.samples) == RESERVOIR
    assert latency.count == RESERVOIR * 3
    assert latency.max == RESERVOIR * 3 - 1
    assert latency.mean() == (RESERVOIR * 3 - 1) / 2
    # The reservoir holds the latest samples.
    assert min(latency.samples) == RESERVOIR * 2


def test_latency_percentiles_by_nearest_rank():
    latency = Latency()
    assert latency.percentile(0.5) is None
    for value in [5.0, 1.0, 3.0, 2.0, 4.0]:
        latency.add(value)
    assert latency.percentile(0.5) == 3.0
    assert latency.percentile(0.95) == 5.0
    assert latency.percentile(0.0) == 1.0
