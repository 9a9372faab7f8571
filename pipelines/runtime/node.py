"""The engine's state of one node during a run.

A :class:`Node` is what the runtime's modules share: the validated spec, the
live stats, the input links it takes from, the outputs it puts to, its
executor, its task, and the flags of the stop protocol. Its fields are plain
attributes on purpose: the loops (:mod:`.loops`), the worker pool
(:mod:`.workers`), the source pumps (:mod:`.sources`) and the Plumber read
them once, bind them to locals, and never pay for a property per item.

Users never see a Node: they get its :class:`~pipelines.Processor` handle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .clock import SYSTEM_CLOCK, Clock
from .link import Link
from .sampling import Latency
from .stall import NO_BOARD, Board
from .stats import NodeStats

if TYPE_CHECKING:
    from ..spec.model import NodeSpec
    from .calls import Offload
    from .events import EventBus
    from .processor import Processor

__all__ = ["Collector", "Node"]


class Collector:
    """Stands in for a link where a ``collect: true`` node keeps its results."""

    __slots__ = ("buf", "capacity", "getters", "mark")

    def __init__(self, values: list[Any]) -> None:
        self.buf = values
        self.capacity = self.mark = 2**62  # never full: the fast path always applies
        self.getters: list[Any] = []

    async def reserve(self) -> int:
        """Never waits: a collector is never full."""
        return self.mark

    def note_put(self) -> int:
        """Nothing to record; the mark never moves."""
        return self.mark

    def wake_getters(self) -> None:
        """Nobody waits on a collector; drop what a stats poke put there."""
        self.getters.clear()


class Node:
    """One node of a running graph, as the engine sees it."""

    __slots__ = (
        "bare_invoke",
        "board",
        "calls",
        "clock",
        "collected",
        "dead_letter",
        "env_vars",
        "events",
        "holding",
        "injectables",
        "inputs",
        "invoke",
        "latency",
        "link_dropped",
        "name",
        "offload",
        "outs",
        "poke",
        "processor",
        "resolved",
        "spec",
        "started",
        "stats",
        "stop_cancels",
        "stop_requested",
        "task",
    )

    def __init__(
        self,
        spec: NodeSpec,
        env_vars: dict[str, Any],
        events: EventBus,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.name = spec.name
        self.clock = clock  # what time-based operators read (batch timeout, windows, rates)
        self.spec = spec
        self.env_vars = env_vars
        self.events = events
        self.stats = NodeStats()
        #: zip: one link per source, in graph order; otherwise one link
        self.inputs: list[Link] = []
        #: input links of the nodes fed, plus a Collector with ``collect: true``
        self.outs: tuple[Any, ...] = ()
        self.dead_letter: Link | None = None
        self.collected: list[Any] | None = [] if spec.options.collect else None
        self.offload: Offload | None = None  # the executor of plain def functions
        self.task: asyncio.Task[None] | None = None
        self.board: Board = NO_BOARD
        self.processor: Processor | None = None  # the user's handle, made by the builder
        # Sampling and publishing on demand (see :mod:`.sampling`): the
        # invoke the loop runs now and its plain form; the (object,
        # attribute) of the waiter list its publishing branch checks; a
        # resolved future to put there.
        self.invoke: Callable[[Any], Any] | None = None
        self.bare_invoke: Callable[[Any], Any] | None = None
        self.poke: tuple[Any, str] | None = None
        self.resolved: asyncio.Future[None] | None = None
        self.latency = Latency()
        #: What a function can declare by name: the run's ``context`` and resources.
        self.injectables: dict[str, Any] = {}
        # The stop protocol of sources (see :mod:`.sources`).
        self.stop_requested = False
        self.started = False
        self.holding = False
        self.stop_cancels = 0
        self.link_dropped = 0  # overflow drops of the input links already in stats.dropped
        #: Calls made, when they are not one per item received (operators: a list, a window).
        self.calls: int | None = None

    def wire(
        self, inputs: list[Link], outs: list[Link], dead_letter: Link | None, board: Board
    ) -> None:
        """Connect the node: links it takes from, links it feeds, its dead-letter link."""
        targets: list[Any] = list(outs)
        if self.collected is not None:
            targets.append(Collector(self.collected))
        self.inputs = inputs
        self.outs = tuple(targets)
        self.dead_letter = dead_letter
        self.board = board

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of every call: the spec's args, plus what the function
        declares of ``processor``, ``context`` and the run's resources."""
        kwargs = dict(self.spec.args)
        for name in self.spec.inject:
            kwargs[name] = self.processor if name == "processor" else self.injectables[name]
        return kwargs

    @property
    def depth(self) -> int:
        """Items waiting in this node's input links now."""
        return sum(len(link.buf) for link in self.inputs)

    def sync_peak(self) -> NodeStats:
        """Copy the input links' peaks and overflow drops (kept by producers) and the sampled
        timings into the stats."""
        stats = self.stats
        dropped = 0
        for link in self.inputs:
            if link.peak > stats.peak_depth:
                stats.peak_depth = link.peak
            if link.dropped:
                dropped += link.dropped
                stats.link_dropped[link.name] = link.dropped
        if dropped != self.link_dropped:
            stats.dropped += dropped - self.link_dropped
            self.link_dropped = dropped
        latency = self.latency
        if latency.count:
            mean = latency.total / latency.count
            calls = stats.received if self.calls is None else self.calls
            stats.busy = mean * (calls + stats.retried)
            stats.latency_p50 = latency.percentile(0.5)
            stats.latency_p95 = latency.percentile(0.95)
            stats.latency_max = latency.max
        return stats

    def use_invoke(self, invoke: Callable[[Any], Any], poke: tuple[Any, str] | None) -> None:
        """A loop starts with ``invoke``; ``poke`` names the waiter list of its publishing branch."""
        self.invoke = self.bare_invoke = invoke
        self.poke = poke

    def close_outputs(self) -> None:
        """This node will put nothing more: end its share of every output link."""
        for link in self.outs:
            if isinstance(link, Link):
                link.close_one()
        if self.dead_letter is not None:
            self.dead_letter.close_one()
