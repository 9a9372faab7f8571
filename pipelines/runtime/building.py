"""Building one run: a :class:`Node` and its :class:`Processor` per spec node, wired by links."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..plan import Plan
from .events import EventBus
from .link import Link
from .node import Node
from .processor import Processor
from .stall import Board

__all__ = ["Edge", "build_nodes", "gc_paused"]


@dataclass(frozen=True, slots=True)
class Edge:
    """One edge of a run and the link it became (a merge's edges share one link)."""

    source: str
    target: str
    kind: str  # data | dead_letter
    link: Link

    def figures(self) -> dict[str, Any]:
        """The edge's figures now: capacity (0: unbounded), depth and peak depth."""
        link = self.link
        capacity = link.capacity if link.capacity < 2**62 else 0
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "capacity": capacity,
            "depth": len(link.buf),
            "peak_depth": link.peak,
        }


def build_nodes(
    plan: Plan, env_vars: dict[str, Any], events: EventBus
) -> tuple[dict[str, Node], list[Edge]]:
    """Fresh nodes, links and edges for one run of ``plan``.

    Input links of each node: a zip gets one link per source, in the order
    the sources appear as keys of ``graph``; a merge (or a single input) one
    link whose producers are all its sources.
    """
    specs = plan.nodes
    board = Board(alive=len(specs))  # this run's stall detector: every node is an actor
    nodes = {name: Node(spec, env_vars, events) for name, spec in specs.items()}
    inputs: dict[str, list[Link]] = {}
    links_in: dict[str, dict[str, Link]] = {}
    for name, spec in specs.items():
        cap = spec.options.capacity
        feeders = list(spec.inputs) + list(spec.dead_letter_from)
        if not feeders:
            inputs[name], links_in[name] = [], {}
        elif spec.options.aggregate_inputs and len(spec.inputs) > 1:
            per = {src: Link(f"{src}->{name}", cap, board=board) for src in spec.inputs}
            inputs[name], links_in[name] = list(per.values()), per
        else:
            shared = Link(f"{','.join(feeders)}->{name}", cap, len(feeders), board)
            inputs[name], links_in[name] = [shared], dict.fromkeys(feeders, shared)
    edges: list[Edge] = []
    for name, spec in specs.items():
        outs = [links_in[target][name] for target in spec.outputs]
        edges += [Edge(name, t, "data", link) for t, link in zip(spec.outputs, outs, strict=True)]
        dead = links_in[spec.dead_letter][name] if spec.dead_letter else None
        if spec.dead_letter and dead is not None:
            edges.append(Edge(name, spec.dead_letter, "dead_letter", dead))
        node = nodes[name]
        node.wire(inputs[name], outs, dead, board)
        Processor(node)
    return nodes, edges


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: building allocates a few objects per node and none is garbage,
    so pausing keeps large graphs linear (50,000 nodes)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
