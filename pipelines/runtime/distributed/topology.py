"""A plan's links as a distributed run lays them out: one stream per link.

The same rules as the in-process builder (:func:`~pipelines.runtime.building.build_nodes`):
a zip node has one link per source, in the order the sources appear as keys
of ``graph``; a merge node (or a single input, or a dead-letter node) one
link shared by all its feeders. A producer writing to a shared link puts its
place among the feeders in front of each item's sequence number, so numbers
stay unique on the link. A zip node also has an internal link (``JOINED``)
from its join step, which pairs items by sequence number in Redis, to its
calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...plan import Plan
from .keys import JOINED

__all__ = ["LinkSpec", "Target", "Topology"]


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One link: its consumer node, input index, producers and capacity (0: unbounded)."""

    consumer: str
    index: int | str
    producers: tuple[str, ...]
    capacity: int
    name: str


@dataclass(frozen=True, slots=True)
class Target:
    """Where a producer writes: a link, and its place among the link's feeders if shared."""

    link: LinkSpec
    head: int | None


class Topology:
    """Input links, output targets and dead-letter targets of every node of a plan."""

    def __init__(self, plan: Plan) -> None:
        self.inputs: dict[str, list[LinkSpec]] = {}
        self.targets: dict[str, list[Target]] = {name: [] for name in plan.nodes}
        self.dead: dict[str, Target | None] = dict.fromkeys(plan.nodes)
        self.joined: dict[str, LinkSpec] = {}
        feeding: dict[tuple[str, str], Target] = {}
        for name, spec in plan.nodes.items():
            opts = spec.options
            cap = opts.queue_size
            feeders = list(spec.inputs) + list(spec.dead_letter_from)
            if not feeders:
                self.inputs[name] = []
            elif opts.aggregate_inputs and len(spec.inputs) > 1:
                links = [
                    LinkSpec(name, i, (src,), cap, f"{src}->{name}")
                    for i, src in enumerate(spec.inputs)
                ]
                self.inputs[name] = links
                for link in links:
                    feeding[(link.producers[0], name)] = Target(link, None)
                self.joined[name] = LinkSpec(name, JOINED, (name,), cap, f"{name} (joined)")
            else:
                link = LinkSpec(name, 0, tuple(feeders), cap, f"{','.join(feeders)}->{name}")
                self.inputs[name] = [link]
                shared = len(feeders) > 1
                for i, src in enumerate(feeders):
                    feeding[(src, name)] = Target(link, i if shared else None)
        for name, spec in plan.nodes.items():
            self.targets[name] = [feeding[(name, out)] for out in spec.outputs]
            if spec.dead_letter is not None:
                self.dead[name] = feeding[(name, spec.dead_letter)]

    def links(self) -> list[LinkSpec]:
        """Every link of the run, internal zip links included."""
        out = [link for links in self.inputs.values() for link in links]
        return out + list(self.joined.values())

    def is_zip(self, node: str) -> bool:
        """True for a node that zips several inputs."""
        return node in self.joined
