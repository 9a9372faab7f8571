"""Diagrams show the operators: notes in node labels, join sides, overflow policy and drops on edges."""

from __future__ import annotations

import re

from pipelines import Plumber
from pipelines.diagram import to_dot, to_mermaid

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_NODE = re.compile(r"^\t([\w.\-]+) \[(.*)\]$")
_EDGE = re.compile(r"^\t([\w.\-]+) -> ([\w.\-]+) \[(.*)\]$")


def _attrs(text):
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTR.findall(text)}


def parse_dot(source):
    """(nodes -> attrs, (tail, head) -> attrs) of the DOT the graphviz package writes."""
    nodes, edges = {}, {}
    for line in source.splitlines():
        if m := _EDGE.match(line):
            edges[(m.group(1), m.group(2))] = _attrs(m.group(3))
        elif m := _NODE.match(line):
            nodes[m.group(1)] = _attrs(m.group(2))
    return nodes, edges


async def keep(x):
    return x


def user(event):
    return event["user"]


SPEC = {
    "nodes": {
        "events": {"coro": [{"user": "u1"}, {"user": "u2"}]},
        "users": {"coro": [{"user": "u1", "name": "Ann"}]},
        "counts": {
            "key": user,
            "window": {"seconds": 10},
            "reduce": {"fn": "operator:add", "initial": 0},
            "queue_size": 8,
            "overflow": "drop_oldest",
        },
        "batches": {"coro": keep, "batch": {"size": 256, "timeout": 0.5}, "rate": "100/s"},
        "named": {"join": {"key": user, "within": 60}},
        "out": {"coro": keep, "collect": True},
    },
    "graph": {
        "events": ["counts", "named"],
        "users": ["named"],
        "counts": ["batches"],
        "batches": ["out"],
        "named": ["out"],
        "out": None,
    },
}
SPEC["nodes"]["out"]["aggregate_inputs"] = False


def test_dot_shows_each_operator():
    nodes, edges = parse_dot(Plumber(SPEC).to_dot())
    assert nodes["counts"]["label"].split("\\n")[2:] == [
        "window 10 s, key user, reduce operator:add"
    ]
    assert nodes["batches"]["label"].split("\\n")[2:] == ["batch 256, timeout 0.5 s, rate 100/s"]
    assert nodes["named"]["label"].split("\\n")[2:] == [
        "join of 2 inputs",
        "join on user within 60 s",
    ]
    assert nodes["named"]["peripheries"] == "2"
    assert (edges[("events", "named")]["headlabel"], edges[("users", "named")]["headlabel"]) == (
        "left",
        "right",
    )
    assert edges[("events", "counts")]["label"] == "cap 8, drop_oldest"
    assert edges[("counts", "batches")]["label"] == "cap 1024"


async def test_after_a_run_an_edge_shows_what_its_link_dropped():
    spec = {
        "nodes": {
            "a": {"coro": list(range(6))},
            "b": {"coro": list(range(4))},
            "m": {
                "coro": keep,
                "aggregate_inputs": False,
                "queue_size": 2,
                "overflow": "drop_newest",
                "collect": True,
            },
        },
        "graph": {"a": ["m"], "b": ["m"], "m": None},
    }
    result = await Plumber(spec).run()
    assert result.stats["m"].link_dropped == {"a,b->m": 8}
    _, edges = parse_dot(to_dot(result.graph, result))
    # a merge: one link for both edges, so both show its figures
    assert edges[("a", "m")]["label"].split("\\n") == ["cap 2, drop_newest", "peak 2", "dropped 8"]
    assert edges[("b", "m")]["label"] == edges[("a", "m")]["label"]
    assert '|"cap 2, drop_newest<br/>peak 2<br/>dropped 8"|' in to_mermaid(result.graph, result)
