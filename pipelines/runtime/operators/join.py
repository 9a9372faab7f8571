"""``join``: pairs of a node's two inputs whose keys match, in either arrival order.

The first input in graph order is the left, the second the right. Each item
is matched against the items of the other side waiting with the same key
(one call per pair: ``(left, right)``), then waits itself: for ``within``
seconds of the node's clock (items arriving less than ``within`` apart are
paired), or until the end of the stream without ``within``. An item that
leaves without ever being matched (it expired, was evicted, or the stream
ended) is counted as dropped.

Bound: at most ``max_pending`` items wait, both sides together; when full,
the oldest waiting item makes room (counted as dropped if it never matched).
Keys are called on the event loop; the join is the node's own state, in
arrival order, whatever its ``concurrency`` (which only spreads the calls).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from ..policy import handle_failure
from ..signals import is_failure
from .calling import NO_KEY, Calls
from .waiting import wait_inputs

if TYPE_CHECKING:
    from ..node import Node

__all__ = ["Join"]

log = logging.getLogger("pipelines")


class _Waiting:
    """An item waiting in the join: its side, key, arrival time and whether it matched."""

    __slots__ = ("at", "item", "key", "matched", "side")

    def __init__(self, item: Any, side: int, key: Any, at: float) -> None:
        self.item = item
        self.side = side
        self.key = key
        self.at = at
        self.matched = False


class Join:
    """The state and loop of one join node."""

    def __init__(self, node: Node, calls: Calls) -> None:
        option = node.spec.options.join
        assert option is not None
        self.node = node
        self.calls = calls
        self.key_fn = node.spec.functions["join.key"]
        self.within = option.within
        self.max_pending = option.max_pending
        # Per side: key -> its waiting items in arrival order.
        self.sides: tuple[dict[Any, deque[_Waiting]], dict[Any, deque[_Waiting]]] = ({}, {})
        self.arrivals: deque[_Waiting] = deque()  # both sides, in arrival order
        self.unmatched = 0
        self.warned = False

    @property
    def held(self) -> int:
        """Waiting items never matched: what a cancellation would lose."""
        return self.unmatched

    async def feed(self) -> None:
        """Take from both inputs as items come, until both have ended."""
        node = self.node
        clock = node.clock
        links = node.inputs
        turn = 0
        while True:
            self._expire(clock.monotonic())
            side = turn if links[turn].buf else 1 - turn
            link = links[side]
            if not link.buf:
                waiting = [lk for lk in links if not lk.closed]
                if not waiting:
                    break
                deadline = None
                if self.within is not None and self.arrivals:
                    deadline = self.arrivals[0].at + self.within
                await wait_inputs(node, waiting, deadline)
                continue
            item = link.buf.popleft()
            if link.putters:
                link.wake_putters()
            turn = 1 - side
            node.stats.received += 1
            await self._arrive(side, item, clock.monotonic())
        self.node.stats.dropped += self.unmatched
        self.unmatched = 0

    async def _arrive(self, side: int, item: Any, now: float) -> None:
        try:
            key = self.key_fn(item)
            hash(key)
        except BaseException as exc:
            if not is_failure(exc):
                raise
            await handle_failure(self.node, item, exc)
            return
        entry = _Waiting(item, side, key, now)
        others = self.sides[1 - side].get(key)
        if others:
            entry.matched = True
            for other in list(others):
                if not other.matched:
                    other.matched = True
                    self.unmatched -= 1
                pair = (other.item, item) if side else (item, other.item)
                await self.calls.submit(pair, 0, NO_KEY)
        if len(self.arrivals) >= self.max_pending:
            self._leave(self.arrivals.popleft())
            if not self.warned:
                self.warned = True
                log.warning(
                    "pipelines: node %r: join.max_pending (%d) reached; the oldest waiting items "
                    "make room (those never matched are counted as dropped)",
                    self.node.name,
                    self.max_pending,
                )
        self.arrivals.append(entry)
        self.sides[side].setdefault(key, deque()).append(entry)
        if not entry.matched:
            self.unmatched += 1

    def _expire(self, now: float) -> None:
        if self.within is None:
            return
        arrivals = self.arrivals
        limit = now - self.within
        while arrivals and arrivals[0].at <= limit:
            self._leave(arrivals.popleft())

    def _leave(self, entry: _Waiting) -> None:
        """``entry`` (the oldest waiting item) leaves the join."""
        side = self.sides[entry.side]
        queue = side[entry.key]
        queue.popleft()  # the oldest of the join is the oldest of its key
        if not queue:
            del side[entry.key]
        if not entry.matched:
            self.unmatched -= 1
            self.node.stats.dropped += 1
