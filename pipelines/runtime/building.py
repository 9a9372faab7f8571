"""Building one run: a :class:`Node` and its :class:`Processor` per spec node, wired by links."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..plan import Plan, input_link_name
from .clock import SYSTEM_CLOCK, Clock
from .events import EventBus
from .link import Link
from .node import Node
from .operators import ChunkLink, chunk_capacity
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
        """The edge's figures now: capacity (0: unbounded), depth, peak depth, and the
        items its link's ``overflow`` policy dropped."""
        link = self.link
        capacity = link.capacity if link.capacity < 2**62 else 0
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "capacity": capacity,
            "depth": len(link.buf),
            "peak_depth": link.peak,
            "dropped": link.dropped,
        }


def build_nodes(
    plan: Plan, env_vars: dict[str, Any], events: EventBus, clock: Clock = SYSTEM_CLOCK
) -> tuple[dict[str, Node], list[Edge]]:
    """Fresh nodes, links and edges for one run of ``plan``.

    Input links of each node: a zip gets one link per source, in the order
    the sources appear as keys of ``graph``; a merge (or a single input) one
    link whose producers are all its sources. A link carries the consumer's
    ``overflow`` policy; between two batch nodes it carries lists
    (:class:`~.operators.ChunkLink`).
    """
    specs = plan.nodes
    board = Board(alive=len(specs))  # this run's stall detector: every node is an actor
    nodes = {name: Node(spec, env_vars, events, clock) for name, spec in specs.items()}
    inputs: dict[str, list[Link]] = {}
    links_in: dict[str, dict[str, Link]] = {}
    for name, spec in specs.items():
        cap = spec.options.capacity
        overflow = spec.options.overflow
        feeders = list(spec.inputs) + list(spec.dead_letter_from)
        if not feeders:
            inputs[name], links_in[name] = [], {}
        elif spec.options.aggregate_inputs and len(spec.inputs) > 1:
            per = {
                src: Link(input_link_name(spec, src), cap, board=board, overflow=overflow)
                for src in spec.inputs
            }
            inputs[name], links_in[name] = list(per.values()), per
        else:
            label = input_link_name(spec, feeders[0])
            lists = chunk_capacity(specs[feeders[0]], spec)
            shared = (
                Link(label, cap, len(feeders), board, overflow)
                if lists is None
                else ChunkLink(label, lists, spec.options.batch.size, 1, board)  # type: ignore[union-attr]
            )
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
