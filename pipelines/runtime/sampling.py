"""Sampled call timing and on-demand publishing of live counters, at no per-item cost.

The hot loops keep their counters in locals and publish them to the node's
stats only on slow paths (when they wait, wake a neighbour, or find a full
link). Two things must still reach a busy node regularly, without a check
per item:

* **Publishing** (:func:`poke`): the stats ticker puts an already-resolved
  future into the waiter list that the node's loop checks per item anyway
  (``out.getters`` of a one-output loop, ``link.putters`` of a sink or zip).
  The loop takes that branch on its next item, wakes nobody (a resolved
  future is skipped) and publishes its counters. So live figures lag a
  node's progress by at most one stats period.
* **Timing one call** (:func:`arm`): the node's current ``invoke`` is
  swapped for a wrapper that times a single call, records it in the node's
  :class:`Latency`, puts the plain ``invoke`` back and pokes the loop, which
  re-reads ``node.invoke`` in that same branch. Between samples a loop runs
  its plain ``invoke``: sampling every 50 ms costs a few wrapped calls per
  node per second, nothing per item.

Sampling is off unless ``Plumber(sample_calls=True)``; poking happens only
while somebody subscribes to the run's events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .node import Node

__all__ = ["RESERVOIR", "Latency", "arm", "poke"]

#: Latest samples kept per node for the percentiles (older ones only count in
#: the total and the maximum): memory stays bounded however long a run is.
RESERVOIR = 1024


class Latency:
    """Sampled call durations of one node (seconds)."""

    __slots__ = ("count", "max", "samples", "total")

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        """Record one timed call."""
        if len(self.samples) >= RESERVOIR:
            self.samples[self.count % RESERVOIR] = seconds
        else:
            self.samples.append(seconds)
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, fraction: float) -> float | None:
        """The ``fraction`` quantile of the kept samples (nearest rank), or None without samples."""
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
        return ordered[rank]

    def mean(self) -> float | None:
        """The mean of every sample taken, or None without samples."""
        return self.total / self.count if self.count else None


def poke(node: Node) -> None:
    """Make the node's loop take its publishing branch on its next item (see the module doc)."""
    target = node.poke
    if target is not None:
        waiters = getattr(target[0], target[1])
        if not waiters and node.resolved is not None:
            waiters.append(node.resolved)


def arm(node: Node) -> None:
    """Time the node's next call (once), if it is not armed already."""
    bare = node.bare_invoke
    if bare is None or node.invoke is not bare:
        return
    node.invoke = _timed_once(node, bare)
    poke(node)


def _timed_once(node: Node, bare: Callable[[Any], Any]) -> Callable[[Any], Any]:
    latency = node.latency
    clock = time.perf_counter

    async def timed(item: Any) -> Any:
        node.invoke = bare  # the next call is plain again...
        start = clock()
        try:
            return await bare(item)
        finally:
            latency.add(clock() - start)
            poke(node)  # ...and the loop picks it up on its next item

    return timed
