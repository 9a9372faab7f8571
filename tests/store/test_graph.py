"""A recorded run's graph draws exactly as the live plan does, without the user's functions."""

from __future__ import annotations

import asyncio
import itertools
import json
import re

from pipelines import Plumber
from pipelines.diagram import to_dot, to_mermaid
from pipelines.store.graph import MAX_DRAWN_NODES, describe, rebuild, result_of


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


async def test_a_recorded_run_draws_as_the_run_itself_did(store, recorders):
    async def fast():
        for i in range(50):
            yield i

    async def slow(x):
        await asyncio.sleep(0.001)
        return x

    spec = demo()
    spec["nodes"]["burst"] = {"coro": fast}
    spec["nodes"]["slow"] = {"coro": slow, "queue_size": 2, "overflow": "drop_oldest"}
    spec["graph"].update({"burst": ["slow"], "slow": None})
    plumber = Plumber(spec)
    recording = recorders().record(plumber)
    result = await plumber.run()
    await asyncio.wrap_future(recording.ended)
    run = store.run(recording.id)
    assert result.stats["slow"].dropped > 0  # the overflow policy dropped items
    assert run.edges[-1].dropped == result.stats["slow"].dropped
    rebuilt = rebuild(run.graph)
    assert to_dot(rebuilt, result_of(run, rebuilt)) == to_dot(plumber.plan, result)


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


def test_operator_options_draw_again_with_their_notes_and_a_join():
    def first_letter(word):
        return word[0]

    async def pairs(pair):
        return pair

    spec = {
        "nodes": {
            "left": {"coro": words},
            "right": {"coro": words},
            "joined": {"coro": pairs, "join": {"key": first_letter, "within": 5}},
            "batches": {"coro": pair, "batch": {"size": 4, "timeout": 0.5}, "rate": "100/s"},
            "windows": {"coro": pair, "window": {"count": 3, "slide": 1}},
            "last": {"coro": pair, "overflow": "drop_oldest", "queue_size": 8},
        },
        "graph": {
            "left": ["joined"],
            "right": ["joined"],
            "joined": ["batches"],
            "batches": ["windows"],
            "windows": ["last"],
            "last": None,
        },
    }
    plan = Plumber(spec).plan
    description = json.loads(json.dumps(describe(plan)))  # as stored: plain JSON
    rebuilt = rebuild(description)
    assert to_dot(rebuilt) == to_dot(plan)
    assert to_mermaid(rebuilt) == to_mermaid(plan)
    assert rebuilt.graph.nodes["joined"]["mode"] == "join"
    assert "drop_oldest" in to_dot(rebuilt)
