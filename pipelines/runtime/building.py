"""Building one run: a :class:`Node` and its :class:`Processor` per spec node, wired by links."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any

from ..plan import Plan, input_link_name
from .clock import SYSTEM_CLOCK, Clock
from .events import EventBus
from .link import Link
from .node import Node
from .operators import ChunkLink, chunk_capacity
from .processor import Processor
from .stall import Board

__all__ = ["build_nodes", "gc_paused"]


def build_nodes(
    plan: Plan, env_vars: dict[str, Any], events: EventBus, clock: Clock = SYSTEM_CLOCK
) -> dict[str, Node]:
    """Fresh nodes and links for one run of ``plan``.

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
    for name, spec in specs.items():
        outs = [links_in[target][name] for target in spec.outputs]
        dead = links_in[spec.dead_letter][name] if spec.dead_letter else None
        node = nodes[name]
        node.wire(inputs[name], outs, dead, board)
        Processor(node)
    return nodes


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
