"""pipelines: this engine, built from a spec dict as a user would, with the
default options (no tuning). ``Plumber(spec)`` is set-up; ``run()`` is timed."""

import random
from itertools import pairwise

from bench.workloads import (
    BATCH,
    CHAIN_MAPS,
    IO_CONCURRENCY,
    LONG_MAPS,
    WIDE_BRANCHES,
    cpu_task,
    double,
    inc,
    inc_batch,
    noop,
    sleepy,
    source,
)
from pipelines import Plumber


class _Sum:
    """Sink: an async callable object summing what it is given."""

    def __init__(self, add=None):
        self.total = 0
        self.add = add

    async def __call__(self, x):
        self.total += self.add(x) if self.add else x


async def _run(clock, spec, acc):
    plumber = Plumber(spec)
    with clock:
        await plumber.run()
    return acc.total


def _src(n):
    return {"coro": source, "args": {"n": n}}


def _chain_spec(n, maps, acc):
    names = [f"m{i + 1}" for i in range(maps)]
    nodes = {"src": _src(n)}
    nodes.update({name: {"coro": inc} for name in names})
    nodes["sink"] = {"coro": acc}
    order = ["src", *names, "sink"]
    graph = {a: [b] for a, b in pairwise(order)}
    graph["sink"] = None
    return {"nodes": nodes, "graph": graph}


async def chain5(n, clock):
    acc = _Sum()
    return await _run(clock, _chain_spec(n, CHAIN_MAPS, acc), acc)


async def chain5_batch(n, clock):
    """chain5 with every map and the sink a batch node of BATCH items (the batch fast path)."""
    total = [0]

    async def sink(xs):
        total[0] += sum(xs)

    batch = {"size": BATCH}
    names = [f"m{i + 1}" for i in range(CHAIN_MAPS)]
    nodes = {"src": _src(n)}
    nodes.update({name: {"coro": inc_batch, "batch": batch} for name in names})
    nodes["sink"] = {"coro": sink, "batch": batch}
    order = ["src", *names, "sink"]
    graph = {a: [b] for a, b in pairwise(order)}
    graph["sink"] = None
    plumber = Plumber({"nodes": nodes, "graph": graph})
    with clock:
        await plumber.run()
    return total[0]


async def long(n, clock):
    acc = _Sum()
    return await _run(clock, _chain_spec(n, LONG_MAPS, acc), acc)


async def diamond(n, clock):
    sums = [0, 0]

    async def sink(ab):  # zipped: called with (a, b)
        sums[0] += ab[0]
        sums[1] += ab[1]

    spec = {
        "nodes": {
            "src": _src(n),
            "a": {"coro": inc},
            "b": {"coro": double},
            "sink": {"coro": sink},
        },
        "graph": {"src": ["a", "b"], "a": ["sink"], "b": ["sink"], "sink": None},
    }
    plumber = Plumber(spec)
    with clock:
        await plumber.run()
    return tuple(sums)


async def wide(n, clock):
    acc = _Sum()
    names = [f"w{i}" for i in range(WIDE_BRANCHES)]
    nodes = {"src": _src(n)}
    nodes.update({name: {"coro": inc} for name in names})
    nodes["sink"] = {"coro": acc, "properties": {"aggregate_inputs": False}}
    graph = {"src": names, **{name: ["sink"] for name in names}, "sink": None}
    return await _run(clock, {"nodes": nodes, "graph": graph}, acc)


async def io50(n, clock):
    acc = _Sum()
    spec = {
        "nodes": {
            "src": _src(n),
            "io": {"coro": sleepy, "concurrency": IO_CONCURRENCY},
            "sink": {"coro": acc},
        },
        "graph": {"src": ["io"], "io": ["sink"], "sink": None},
    }
    return await _run(clock, spec, acc)


async def cpu(n, clock, concurrency=1):
    acc = _Sum()
    spec = {
        "nodes": {
            "src": _src(n),
            "work": {"coro": cpu_task, "executor": "process", "concurrency": concurrency},
            "sink": {"coro": acc},
        },
        "graph": {"src": ["work"], "work": ["sink"], "sink": None},
    }
    return await _run(clock, spec, acc)


def _build(spec, clock):
    with clock:
        plumber = Plumber(spec)
    return len(plumber.nodes)


async def build_chain(n, clock):
    """A chain src -> n1 -> ... -> n{n-1} (n nodes)."""
    names = ["src"] + [f"n{i}" for i in range(1, n)]
    nodes = {"src": _src(1)}
    nodes.update({name: {"coro": noop} for name in names[1:]})
    graph = {a: [b] for a, b in pairwise(names)}
    graph[names[-1]] = None
    return _build({"nodes": nodes, "graph": graph}, clock)


async def build_dag(n, clock, seed=1):
    """A random DAG of n nodes: each node takes one input from the previous
    ten, a fifth of them a second one (zipped); nodes without outputs are sinks."""
    rnd = random.Random(seed)
    names = ["src"] + [f"n{i}" for i in range(1, n)]
    inputs = {0: []}
    for i in range(1, n):
        k = 2 if i > 1 and rnd.random() < 0.2 else 1
        inputs[i] = sorted(rnd.sample(range(max(0, i - 10), i), k))
    outputs = {i: [] for i in range(n)}
    for i, ins in inputs.items():
        for j in ins:
            outputs[j].append(names[i])
    nodes = {"src": _src(1)}
    nodes.update({name: {"coro": noop} for name in names[1:]})
    graph = {names[i]: (outputs[i] or None) for i in range(n)}
    return _build({"nodes": nodes, "graph": graph}, clock)
