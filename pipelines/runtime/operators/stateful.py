"""Windows and keyed reduce: the loop of a node with ``window`` and/or ``reduce``.

Per item: its key (``key``), its time (``window.time`` in event time, the
clock's wall time in processing time), the windows it belongs to; the item
is put in each (or folded into each with ``reduce``), and every window that
has closed becomes a call of the node's function. Without a window, ``reduce``
folds per key until the end of the stream, then calls the function once per
key with ``(key, value)``.

Closing: count windows when full; processing-time windows when the clock
reaches their end (the loop waits for items with that deadline); event-time
windows when the watermark (latest time seen minus ``lateness``) passes
their end. Items whose windows have all closed are late: counted as dropped.
At the end of the stream (a drain included) every open window closes.

The state is the node's own, in arrival order, whatever its ``concurrency``
(which only spreads the calls, by key): results do not depend on it.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..policy import handle_failure
from ..signals import is_failure
from ..taking import END
from .calling import NO_KEY, Calls
from .units import Window
from .waiting import TIMEOUT, take_zip_until, wait_inputs
from .windows import (
    FULL,
    Bucket,
    CountWindows,
    SessionWindows,
    TimeWindows,
    WindowState,
)

if TYPE_CHECKING:
    from ...spec.operators import ReduceOption, WindowOption
    from ..node import Node

__all__ = ["Stateful", "event_time"]

log = logging.getLogger("pipelines")


def event_time(value: Any) -> float:
    """A ``window.time`` result as seconds: a number, or a ``datetime`` (its timestamp)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    stamp = getattr(value, "timestamp", None)
    if callable(stamp):
        return float(stamp())
    raise TypeError(f"the time function must return a number or a datetime, got {value!r}")


def _make_state(window: WindowOption, reduce: bool) -> WindowState:
    if window.count is not None:
        return CountWindows(window, reduce)
    if window.seconds is not None:
        return TimeWindows(window, reduce)
    return SessionWindows(window, reduce)


class Stateful:
    """One windowed or reducing node: its keys, its windows or accumulators, its loop."""

    def __init__(self, node: Node, calls: Calls) -> None:
        self.node = node
        self.calls = calls
        spec = node.spec
        opts = spec.options
        self.key_fn: Callable[[Any], Any] | None = spec.functions.get("key")
        self.time_fn: Callable[[Any], Any] | None = spec.functions.get("window.time")
        self.window: WindowOption | None = opts.window
        self.reduce: ReduceOption | None = opts.reduce
        fold = spec.functions.get("reduce.fn")
        self.fold_fn: Callable[[Any, Any], Any] | None = fold
        self.fold_async = fold is not None and (
            inspect.iscoroutinefunction(fold)
            or inspect.iscoroutinefunction(getattr(fold, "__call__", None))  # noqa: B004
        )
        self.state = _make_state(opts.window, opts.reduce is not None) if opts.window else None
        self.processing_time = (
            self.window is not None and self.window.count is None and (self.time_fn is None)
        )
        self.lateness = self.window.lateness if self.window else 0.0
        self.latest = -float("inf")  # event time: the latest item time seen
        self.orders: dict[Any, int] = {}  # key -> when first seen
        self.totals: dict[Any, list[Any]] = {}  # reduce without window: key -> [value, items]
        self.in_hand = 0  # items of windows closed but not handed to calls yet
        self.warned: set[str] = set()

    @property
    def held(self) -> int:
        """Items that would be lost if the run stopped now (counted as dropped then)."""
        held = self.state.held if self.state is not None else 0
        return held + self.in_hand + sum(int(total[1]) for total in self.totals.values())

    # -- the loop ------------------------------------------------------------------

    async def feed(self) -> None:
        """Take every item, then flush what is open."""
        node = self.node
        clock = node.clock
        stats = node.stats
        zipped = len(node.inputs) > 1
        while True:
            deadline = None
            if self.processing_time:
                state = self.state
                assert state is not None
                await self._submit(state.closed(clock.time()))
                end = state.next_end()
                if end is not None:
                    deadline = clock.monotonic() + (end - clock.time())
            item = await (take_zip_until(node, deadline) if zipped else self._take(deadline))
            if item is TIMEOUT:
                continue
            if item is END:
                break
            stats.received += 1
            await self._add(item)
        if self.state is not None:
            await self._submit(self.state.flush())
        else:
            await self._emit_totals()

    async def _take(self, deadline: float | None) -> Any:
        node = self.node
        link = node.inputs[0]
        buf = link.buf
        while not buf:
            if link.closed:
                return END
            if deadline is not None and node.clock.monotonic() >= deadline:
                return TIMEOUT
            await wait_inputs(node, (link,), deadline)
        item = buf.popleft()
        if link.putters:
            link.wake_putters()
        return item

    async def _add(self, item: Any) -> None:
        node = self.node
        try:
            key = self.key_fn(item) if self.key_fn is not None else None
            order = self.orders.get(key)  # also checks that the key is hashable
            if order is None:
                order = self.orders[key] = len(self.orders)
            if self.state is None:
                await self._fold_total(key, item)
                return
            if self.time_fn is not None:
                t: float | None = event_time(self.time_fn(item))
            elif self.processing_time:
                t = node.clock.time()
            else:
                t = None
            placed = self.state.place(key, order, t)
            if placed is FULL:
                self._drop(
                    "max_pending",
                    "window.max_pending (%d) reached; items are dropped until windows close",
                    self.state.max_pending,
                )
                return
            if not placed:
                self._drop("late", "a late item (its windows had closed): %s", _short(item))
                return
            await self._put(placed, item)
        except BaseException as exc:
            if not is_failure(exc):
                raise
            await handle_failure(node, item, exc)
            return
        if self.time_fn is not None:
            assert t is not None
            if t > self.latest:
                self.latest = t
            await self._submit(self.state.closed(self.latest - self.lateness))
        elif not self.processing_time:
            await self._submit(self.state.closed(None))

    async def _put(self, buckets: list[Bucket], item: Any) -> None:
        if isinstance(self.state, SessionWindows):
            pair = (self.state.next_arrival(), item)
            for bucket in buckets:
                bucket.items.append(pair)
            return
        if self.reduce is None:
            for bucket in buckets:
                bucket.items.append(item)
            return
        for bucket in buckets:
            bucket.acc = await self._fold(bucket.acc, bucket.count == 1, item)

    async def _fold(self, acc: Any, first: bool, item: Any) -> Any:
        reduce = self.reduce
        assert reduce is not None and self.fold_fn is not None
        if first:
            if not reduce.has_initial:
                return item  # no initial: the first item is the accumulator
            acc = copy.deepcopy(reduce.initial)  # every key starts from its own copy
        value = self.fold_fn(acc, item)
        if self.fold_async:
            value = await value
        return value

    async def _fold_total(self, key: Any, item: Any) -> None:
        total = self.totals.get(key)
        first = total is None
        value = await self._fold(None if total is None else total[0], first, item)
        if total is None:
            self.totals[key] = [value, 1]
        else:
            total[0] = value
            total[1] += 1

    def _drop(self, reason: str, message: str, *args: Any) -> None:
        self.node.stats.dropped += 1
        if reason not in self.warned:  # once per reason: the count is in the stats
            self.warned.add(reason)
            log.warning("pipelines: node %r: " + message, self.node.name, *args)

    # -- calls -------------------------------------------------------------------------

    async def _submit(self, buckets: list[Bucket]) -> None:
        if not buckets:
            return
        self.in_hand += sum(bucket.fresh for bucket in buckets)
        keyed = self.key_fn is not None
        for bucket in buckets:
            unit = await self._unit(bucket)
            self.in_hand -= bucket.fresh
            await self.calls.submit(unit, bucket.fresh, bucket.key if keyed else NO_KEY)

    async def _unit(self, bucket: Bucket) -> Window:
        if isinstance(self.state, SessionWindows):
            items = [item for _, item in bucket.items]
            if self.reduce is None:
                return Window(bucket.key, bucket.start, bucket.end, items)
            acc = None
            for i, item in enumerate(items):
                acc = await self._fold(acc, i == 0, item)
            return Window(bucket.key, bucket.start, bucket.end, [], acc)
        if self.reduce is None:
            return Window(bucket.key, bucket.start, bucket.end, bucket.items)
        return Window(bucket.key, bucket.start, bucket.end, [], bucket.acc)

    async def _emit_totals(self) -> None:
        keyed = self.key_fn is not None
        totals, self.totals = self.totals, {}
        self.in_hand += sum(count for _, count in totals.values())
        for key, (value, count) in totals.items():
            self.in_hand -= count
            await self.calls.submit((key, value), count, key if keyed else NO_KEY)


def _short(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 80 else text[:77] + "..."
