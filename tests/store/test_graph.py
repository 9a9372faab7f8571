"""A recorded run's graph draws exactly as the live plan does, without the user's functions."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from types import SimpleNamespace

from pipelines import Plumber
from pipelines.diagram import to_dot, to_mermaid
from pipelines.store.graph import MAX_DRAWN_NODES, describe, rebuild, result_of
from pipelines.store.records import NODE_FIGURES, NodeFigures


async def words(text="a b c"):
    for word in text.split():
        yield word


def upper(word):
    return word.upper()


async def pair(item):
    return item


async def reject(dead):
    return dead


def demo():
    return {
        "name": "demo",
        "nodes": {
            "left": {"coro": words},
            "up": {"coro": upper, "concurrency": 2},
            "same": {"coro": pair, "on_error": "dead"},
            "zip": {"coro": pair, "queue_size": 8},
            "dead": {"coro": reject},
        },
        "graph": {
            "left": ["up", "same"],
            "up": ["zip"],
            "same": ["zip"],
            "zip": None,
            "dead": None,
        },
    }


def test_a_rebuilt_plan_draws_the_same_diagram():
    plan = Plumber(demo()).plan
    description = json.loads(json.dumps(describe(plan)))  # as stored
    rebuilt = rebuild(description)
    assert to_dot(rebuilt) == to_dot(plan)
    assert to_mermaid(rebuilt) == to_mermaid(plan)


def test_a_rebuilt_plan_with_a_run_s_figures_draws_the_annotated_diagram():
    plumber = Plumber(demo())
    result = asyncio.run(plumber.run())
    rebuilt = rebuild(describe(plumber.plan))

    nodes = {
        name: NodeFigures(name, "", "done", **_counters(s)) for name, s in result.stats.items()
    }
    recorded = SimpleNamespace(status=result.status, duration=result.duration, nodes=nodes)
    assert to_dot(rebuilt, result_of(recorded, rebuilt)) == to_dot(plumber.plan, result)


def _counters(stats):
    data = stats.as_dict()
    return {k: data[k] for k in NODE_FIGURES if k in data}


def test_graphs_too_large_to_draw_are_not_described():
    nodes = {f"n{i}": {"coro": pair} for i in range(MAX_DRAWN_NODES + 1)}
    nodes["n0"] = {"coro": words}
    names = list(nodes)
    graph = {a: [b] for a, b in itertools.pairwise(names)}
    graph[names[-1]] = None
    assert describe(Plumber({"nodes": nodes, "graph": graph}).plan) is None


def test_subgraphs_are_drawn_again_as_boxes():
    from pathlib import Path

    outer = Path(__file__).resolve().parents[1] / "workflows" / "files" / "outer.yaml"
    plan = Plumber.from_file(outer).plan

    def dot(p):  # cluster names are not the same from one drawing to the next
        return re.sub(r"cluster_\d+", "cluster", to_dot(p))

    assert "subgraph cluster {" in dot(plan)  # the file has a subgraph
    assert dot(rebuild(json.loads(json.dumps(describe(plan))))) == dot(plan)
