"""Nested graphs: a node may be a whole graph, from a file or inline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipelines import PipelineError, Plumber, SpecError
from pipelines.diagram import to_dot, to_mermaid

FILES = Path(__file__).resolve().parent / "files"


async def test_a_nested_graph_equals_its_flat_twin_item_for_item():
    nested = await Plumber.from_file(FILES / "outer.yaml").run()
    flat = await Plumber.from_file(FILES / "flat.yaml").run()
    assert nested.outputs["out"] == flat.outputs["out"] == [1, 3, 5, 7]
    assert list(nested.stats) == ["src", "calc/dbl", "calc/inc", "out"]
    for outer, inner in (("src", "src"), ("calc/dbl", "dbl"), ("calc/inc", "inc"), ("out", "out")):
        a, b = nested.stats[outer], flat.stats[inner]
        assert (a.received, a.emitted, a.failed) == (b.received, b.emitted, b.failed)


def test_a_subgraph_file_s_defaults_apply_to_its_nodes():
    plan = Plumber.from_file(FILES / "outer.yaml").plan
    assert plan.nodes["calc/dbl"].options.queue_size == 8  # the file's defaults
    assert plan.nodes["calc/inc"].options.queue_size == 4  # the node's own value wins
    assert plan.nodes["calc/dbl"].group == ("calc",)
    assert plan.nodes["out"].group == ()


def _inline(extra_inner=None, **outer):
    async def numbers():
        for i in range(5):
            yield i

    async def check(x):
        if x == 3:
            raise ValueError("three")
        return x

    async def keep(x):
        return x

    inner = {
        "nodes": {"a": {"coro": check, **(extra_inner or {})}, "b": {"coro": keep}},
        "graph": {"a": ["b"], "b": None},
    }
    return {
        "nodes": {
            "src": {"coro": numbers},
            "sub": {"subgraph": inner, "input": "a", "output": "b", **outer},
            "out": {"coro": keep, "collect": True},
        },
        "graph": {"src": ["sub"], "sub": ["out"], "out": None},
    }


async def test_errors_cross_the_boundary_with_the_qualified_node_name():
    with pytest.raises(PipelineError) as caught:
        await Plumber(_inline()).run()
    assert caught.value.node == "sub/a"
    assert caught.value.item == "3"


async def test_error_policies_inside_a_subgraph_apply_as_if_flat():
    result = await Plumber(_inline({"on_error": "skip"})).run()
    assert result.outputs["out"] == [0, 1, 2, 4]
    assert result.stats["sub/a"].failed == 1


async def test_stop_and_cancellation_cross_the_boundary(no_pending_tasks):
    gate = asyncio.Event()

    async def endless():
        i = 0
        while True:
            yield i
            i += 1
            await asyncio.sleep(0)
            if i == 20:
                gate.set()

    async def keep(x):
        return x

    spec = {
        "nodes": {
            "src": {"coro": endless},
            "sub": {
                "subgraph": {"nodes": {"k": {"coro": keep}}, "graph": {"k": None}},
                "input": "k",
                "output": "k",
            },
            "out": {"coro": keep, "collect": True},
        },
        "graph": {"src": ["sub"], "sub": ["out"], "out": None},
    }
    plumber = Plumber(spec)
    task = asyncio.create_task(plumber.run())
    await gate.wait()
    await plumber.stop(drain=True)
    result = await task
    assert result.status == "stopped"
    assert result.outputs["out"] == list(range(len(result.outputs["out"])))
    assert result.stats["sub/k"].received == result.stats["src"].emitted
    no_pending_tasks()


def _problems(spec, **kwargs) -> list[str]:
    with pytest.raises(SpecError) as caught:
        Plumber(spec, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_problems_inside_a_subgraph_carry_the_full_key_path():
    problems = _problems(_inline({"concurrency": 0}))
    assert problems == [
        "nodes.sub.subgraph.nodes.a.concurrency: must be an integer from 1 to 10,000, got 0"
    ]


def test_problems_in_an_included_file_carry_the_full_key_path():
    with pytest.raises(SpecError) as caught:
        Plumber.from_file(FILES / "uses_broken.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "nodes.enrich.subgraph.nodes.fetch.coro"
    assert "has no attribute 'fecth' (did you mean 'fetch'?)" in problem.message


def test_a_file_that_includes_itself_is_a_problem_not_a_recursion():
    with pytest.raises(SpecError) as caught:
        Plumber.from_file(FILES / "self_a.yaml")
    messages = [str(p) for p in caught.value.problems]
    assert (
        "nodes.loop.subgraph.nodes.x.subgraph: the file includes itself "
        "(self_a.yaml -> self_b.yaml -> self_a.yaml)"
    ) in messages


def test_input_and_output_must_name_inner_nodes():
    spec = _inline()
    spec["nodes"]["sub"]["input"] = "nope"
    assert _problems(spec) == ["nodes.sub.input: no node 'nope' in the subgraph (nodes: a, b)"]


def test_a_subgraph_without_input_cannot_be_fed():
    spec = _inline()
    del spec["nodes"]["sub"]["input"]
    assert _problems(spec) == ["graph.src: subgraph 'sub' has no 'input', so nothing feeds it"]


def test_a_subgraph_node_takes_only_its_own_keys():
    assert _problems(_inline(concurrency=2)) == [
        "nodes.sub.concurrency: a subgraph node takes only subgraph, input and output"
    ]


def test_node_names_cannot_contain_the_separator():
    async def keep(x):
        return x

    spec = {
        "nodes": {
            "a/b": {"coro": [1]},
            "sub": {
                "subgraph": {"nodes": {"k": {"coro": keep}}, "graph": {"k": None}},
                "input": "k",
            },
        },
        "graph": {"a/b": ["sub"], "sub": None},
    }
    assert "nodes.a/b: a node name cannot contain '/' (it joins subgraph and node names)" in (
        _problems(spec)
    )


async def test_a_subgraph_without_input_is_a_source():
    async def numbers():
        for i in range(3):
            yield i

    async def keep(x):
        return x

    spec = {
        "nodes": {
            "gen": {
                "subgraph": {
                    "nodes": {"n": {"coro": numbers}, "k": {"coro": keep}},
                    "graph": {"n": ["k"], "k": None},
                },
                "output": "k",
            },
            "out": {"coro": keep, "collect": True},
        },
        "graph": {"gen": ["out"], "out": None},
    }
    result = await Plumber(spec).run()
    assert result.outputs["out"] == [0, 1, 2]


def test_diagrams_draw_a_subgraph_as_a_cluster():
    plan = Plumber.from_file(FILES / "outer.yaml").plan
    dot = to_dot(plan)
    assert "subgraph cluster_" in dot
    assert "label=calc" in dot or 'label="calc"' in dot
    mermaid = to_mermaid(plan)
    assert 'subgraph calc["calc"]' in mermaid
