"""Property-based tests over random graphs.

Every item arrives at each sink as often as there are paths to it, and runs end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import Counter

import pytest
from engine_funcs import flatten
from engine_funcs.graphs import SOURCE_STYLES, STYLES, RandomGraph
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import Plumber

# When an example fails, hypothesis' report imports a module that warns (the
# suite turns warnings into errors), which would hide the failure itself.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
)

SETTINGS = settings(
    max_examples=int(os.environ.get("PIPELINES_EXAMPLES", "60")),
    deadline=None,
    # the autouse thread-leak fixture is meant to run once around all examples
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

queue_sizes = st.one_of(st.none(), st.integers(1, 8))


@st.composite
def random_graphs(draw) -> RandomGraph:
    sources = draw(st.integers(1, 3))
    inner = draw(st.integers(1, 6))
    n = sources + inner
    edges: set[tuple[int, int]] = set()
    for j in range(sources, n):
        k = draw(st.integers(1, min(3, j)))
        for i in draw(st.lists(st.integers(0, j - 1), min_size=k, max_size=k, unique=True)):
            edges.add((i, j))
    for s in range(sources):  # every source feeds something
        if not any(i == s for i, _ in edges):
            edges.add((s, draw(st.integers(sources, n - 1))))
    # equal lengths are common so that zips get a chance
    lengths = [draw(st.sampled_from([0, 1, 3, 3, 3, 5, 8])) for _ in range(sources)]

    def inputs(j):
        return sorted(i for i, k in edges if k == j)

    counts: dict[int, int] = dict(enumerate(lengths))
    zips: set[int] = set()
    for j in range(sources, n):
        ins = inputs(j)
        in_counts = {counts[i] for i in ins}
        if len(ins) > 1 and len(in_counts) == 1 and draw(st.sampled_from([True, True, False])):
            zips.add(j)
            counts[j] = counts[ins[0]]
        else:
            counts[j] = sum(counts[i] for i in ins)
    styles = {i: draw(st.sampled_from(SOURCE_STYLES)) for i in range(sources)}
    options: dict[int, dict] = {}
    for j in range(sources, n):
        styles[j] = draw(st.sampled_from(STYLES))
        opts: dict = {}
        q = draw(queue_sizes)
        if q is not None:
            opts["queue_size"] = q
        c = draw(st.integers(1, 4))
        if c > 1:
            opts["concurrency"] = c
            opts["ordered"] = draw(st.booleans())
        options[j] = opts
    return RandomGraph(sources, lengths, sorted(edges), zips, styles, options, n, counts)


async def _run(spec):
    async with asyncio.timeout(20):  # a hang fails the example instead of the whole suite
        return await Plumber(spec).run()


@SETTINGS
@given(random_graphs())
def test_every_item_reaches_every_reachable_sink_once_per_path(graph):
    result = asyncio.run(_run(graph.spec()))
    assert result.status == "completed"
    for sink in graph.sinks():
        got = Counter(flatten(result.outputs[graph.name(sink)]))
        assert got == graph.expected_tokens(sink), graph
    for j in range(graph.sources, graph.n):
        stats = result.stats[graph.name(j)]
        assert stats.received == graph.counts[j], (graph.name(j), graph)
        assert stats.emitted == graph.counts[j], (graph.name(j), graph)
        assert stats.dropped == 0
        assert stats.failed == 0
        assert stats.peak_depth <= graph.options[j].get("queue_size", 1024)
        assert stats.peak_in_flight <= graph.options[j].get("concurrency", 1)
    for s in range(graph.sources):
        assert result.stats[graph.name(s)].emitted == graph.lengths[s]


@SETTINGS
@given(
    lengths=st.lists(st.integers(0, 12), min_size=2, max_size=4),
    queue_size=queue_sizes,
    concurrency=st.integers(1, 3),
    feeder_q=st.integers(1, 3),
)
def test_zip_of_unequal_inputs_pairs_in_order_drops_the_rest_and_ends(
    lengths, queue_size, concurrency, feeder_q
):
    def source_of(values):
        async def source():
            for v in values:
                yield v

        return source

    async def relay(item):
        return item

    async def keep(item):
        return item

    nodes: dict = {}
    graph: dict = {}
    for k, length in enumerate(lengths):
        values = [(k, i) for i in range(length)]
        nodes[f"s{k}"] = {"coro": source_of(values)}
        nodes[f"r{k}"] = {"coro": relay, "queue_size": feeder_q}
        graph[f"s{k}"] = [f"r{k}"]
        graph[f"r{k}"] = ["z"]
    z = {"coro": keep, "collect": True, "concurrency": concurrency}
    if queue_size is not None:
        z["queue_size"] = queue_size
    nodes["z"] = z
    graph["z"] = None
    result = asyncio.run(_run({"nodes": nodes, "graph": graph}))
    n = min(lengths)
    expected = [tuple((k, i) for k in range(len(lengths))) for i in range(n)]
    assert result.outputs["z"] == expected
    assert result.stats["z"].received == n
    assert result.stats["z"].dropped == sum(lengths) - len(lengths) * n


@SETTINGS
@given(
    capacities=st.lists(st.integers(1, 8), min_size=1, max_size=4),
    n=st.integers(0, 300),
    lag=st.integers(1, 4),
)
def test_backpressure_bound_holds_for_any_capacities_and_stream_length(capacities, n, lag):
    state = {"produced": 0, "consumed": 0, "max_gap": 0}

    async def source():
        for i in range(n):
            state["produced"] += 1
            state["max_gap"] = max(state["max_gap"], state["produced"] - state["consumed"])
            yield i

    async def relay(item):
        return item

    async def slow(item):
        state["consumed"] += 1
        for _ in range(lag):
            await asyncio.sleep(0)
        return item

    names = [f"t{i}" for i in range(len(capacities) - 1)] + ["sink"]
    nodes = {"src": {"coro": source}}
    for name, cap in zip(names, capacities, strict=True):
        nodes[name] = {"coro": slow if name == "sink" else relay, "queue_size": cap}
    nodes["sink"]["collect"] = True
    order = ["src", *names]
    graph = {a: [b] for a, b in itertools.pairwise(order)}
    graph["sink"] = None
    result = asyncio.run(_run({"nodes": nodes, "graph": graph}))
    assert result.outputs["sink"] == list(range(n))
    # link capacities + one item held by each node upstream of the sink
    assert state["max_gap"] <= sum(capacities) + len(capacities)
    for name, cap in zip(names, capacities, strict=True):
        assert result.stats[name].peak_depth <= cap
