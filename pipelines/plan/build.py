"""The plan layer: a validated spec as a ``networkx.DiGraph``.

Nodes carry their kind (source / transform / sink), their :class:`NodeSpec`
and whether they zip or merge; edges carry their kind (``data`` or
``dead_letter``) and the capacity of the link they become. Cycles are
rejected here, with the nodes of each cycle named.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from ..errors import Problem, SpecError, UnboundedQueueWarning
from ..spec.model import GraphSpec, NodeSpec
from ..spec.parse import collect_spec

__all__ = ["Plan", "find_cycles", "input_link_name", "make_plan", "to_digraph"]


class Plan:
    """A validated graph ready to run: the spec plus its ``networkx`` model."""

    def __init__(self, spec: GraphSpec, graph: nx.DiGraph) -> None:
        self.spec = spec
        self.graph = graph

    @property
    def nodes(self) -> dict[str, NodeSpec]:
        return self.spec.nodes

    def sources(self) -> list[str]:
        return [n for n, node in self.spec.nodes.items() if node.kind == "source"]

    def sinks(self) -> list[str]:
        return [n for n, node in self.spec.nodes.items() if node.kind == "sink"]

    def summary(self) -> str:
        """One line: counts of nodes, edges, sources and sinks."""
        g = self.graph
        sources, sinks = self.sources(), self.sinks()
        return (
            f"{_count(g.number_of_nodes(), 'node')}, {_count(g.number_of_edges(), 'edge')}, "
            f"{_count(len(sources), 'source')} ({', '.join(sources)}), "
            f"{_count(len(sinks), 'sink')} ({', '.join(sinks)})"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def input_link_name(target: NodeSpec, source: str) -> str:
    """The name of the link that carries ``source``'s items into ``target`` at run time.

    A zip has a link per input (``a->z``); a merge, a single input or a
    dead-letter route share one (``a,b->m``). Stats key overflow drops by it.
    """
    if target.options.aggregate_inputs and len(target.inputs) > 1 and source in target.inputs:
        return f"{source}->{target.name}"
    feeders = (*target.inputs, *target.dead_letter_from)
    return f"{','.join(feeders)}->{target.name}"


def _mode(node: NodeSpec) -> str:
    if not node.options.aggregate_inputs:
        return "merge"
    if len(node.inputs) > 1:
        return "join" if node.options.join is not None else "zip"
    return "single"


def to_digraph(spec: GraphSpec) -> nx.DiGraph:
    """Build the ``networkx`` model of a spec (no validation).

    Node attributes: ``kind``, ``spec``, ``mode`` (single, zip, merge, join);
    edge attributes: ``kind`` (data, dead_letter), ``capacity`` and
    ``overflow`` of the link it becomes, and that link's name (``link``).
    """
    g = nx.DiGraph(name=spec.name or "")
    for name, node in spec.nodes.items():
        g.add_node(name, kind=node.kind, spec=node, mode=_mode(node), group=node.group)
    for name, node in spec.nodes.items():
        routes = [(target, "data") for target in node.outputs]
        if node.dead_letter is not None:
            routes.append((node.dead_letter, "dead_letter"))
        for target, kind in routes:
            options = spec.nodes[target].options
            g.add_edge(
                name,
                target,
                kind=kind,
                capacity=options.queue_size,
                overflow=options.overflow,
                link=input_link_name(spec.nodes[target], name),
            )
    return g


def find_cycles(g: nx.DiGraph) -> list[list[str]]:
    """One cycle per strongly connected component that has one (linear time)."""
    cycles: list[list[str]] = []
    for component in nx.strongly_connected_components(g):
        if len(component) == 1:
            (only,) = component
            if g.has_edge(only, only):
                cycles.append([only, only])
            continue
        edges = nx.find_cycle(g.subgraph(component))
        cycles.append([u for u, _ in edges] + [edges[0][0]])
    return cycles


def make_plan(
    spec: Any,
    coro_map: Callable[[Any], Any] | None = None,
    base_dir: Path | None = None,
    source: str | None = None,
) -> Plan:
    """Validate a raw spec and build its plan; raise :class:`SpecError` with every problem."""
    parsed, problems, edges = collect_spec(spec, coro_map, base_dir, source)
    structure = nx.DiGraph(edges)
    problems.extend(
        Problem("graph", f"cycle: {' -> '.join(cycle)} (the graph must be acyclic)")
        for cycle in find_cycles(structure)
    )
    if problems:
        raise SpecError(problems, source)
    for name, node in parsed.nodes.items():
        if node.options.queue_size == 0:
            warnings.warn(
                f"node {name!r} has queue_size 0: its input is unbounded, so a fast producer "
                "can grow it without limit",
                UnboundedQueueWarning,
                stacklevel=3,
            )
    return Plan(parsed, to_digraph(parsed))
