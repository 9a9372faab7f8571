"""The open windows of a windowed node, per key: by count, by time, and sessions.

Each state places an item (given its key and time) into the windows it
belongs to, and says which windows have closed. The node's loop
(:mod:`.stateful`) puts the item in (or folds it into) each window and calls
the node's function on the closed ones.

Bounds: a node holds at most ``window.max_pending`` entries (an item in a
window, or a window's accumulator with ``reduce``); an item that would
exceed it is counted as dropped. ``held`` counts the items that are in no
closed window yet (what a cancellation would lose). Count windows also keep
one position counter per key seen.

Closing order: by end, then start, then the order in which keys were first
seen (count windows at the end of the stream: by key, then start).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from typing import Any

from ...spec.operators import WindowOption

__all__ = ["FULL", "Bucket", "CountWindows", "SessionWindows", "TimeWindows", "WindowState"]

#: Returned by :meth:`WindowState.place` when ``max_pending`` leaves no room.
FULL: Any = object()


class Bucket:
    """One open window of one key: its bounds and its items (or accumulator)."""

    __slots__ = ("acc", "count", "end", "fresh", "items", "key", "last", "open", "order", "start")

    def __init__(self, key: Any, order: int, start: float, end: float) -> None:
        self.key = key
        self.order = order  # when the key was first seen: ties in closing order
        self.start = start
        self.end = end
        self.last = start  # sessions: time of the latest item
        self.items: list[Any] = []  # items, or (arrival, item) pairs in sessions
        self.acc: Any = None
        self.count = 0  # items placed in this window
        self.fresh = 0  # items whose first window this is (see WindowState.held)
        self.open = True


class WindowState:
    """Common bookkeeping: the bound, what is held, the windows ready to close."""

    def __init__(self, option: WindowOption, reduce: bool) -> None:
        self.option = option
        self.reduce = reduce  # one accumulator per window instead of its items
        self.max_pending = option.max_pending
        self.entries = 0  # items in windows, or accumulators: bounded by max_pending
        self.held = 0  # items in no closed window yet

    def place(self, key: Any, order: int, t: float | None) -> list[Bucket] | Any:
        """The windows an item of ``key`` at time ``t`` goes into (first-closing first).

        An empty list: the item is late (all its windows have closed);
        :data:`FULL`: no room under ``max_pending``.
        """
        raise NotImplementedError

    def closed(self, now: float | None) -> list[Bucket]:
        """Windows that have closed (by ``now``, a watermark or wall time), in closing order."""
        raise NotImplementedError

    def flush(self) -> list[Bucket]:
        """Every open window, in closing order (the end of the stream)."""
        raise NotImplementedError

    def next_end(self) -> float | None:
        """The earliest time a window may close (time windows), or None."""
        return None

    def _room(self, new_windows: int, memberships: int) -> bool:
        cost = new_windows if self.reduce else memberships
        if self.entries + cost > self.max_pending:
            return False
        self.entries += cost
        return True

    def _release(self, bucket: Bucket) -> None:
        bucket.open = False
        self.entries -= 1 if self.reduce else len(bucket.items)
        self.held -= bucket.fresh


class CountWindows(WindowState):
    """``count: N`` (``slide: M``): a window starts every M items of a key and closes at N items."""

    def __init__(self, option: WindowOption, reduce: bool) -> None:
        super().__init__(option, reduce)
        assert option.count is not None
        self.count = option.count
        self.slide = int(option.slide or option.count)
        self.keys: dict[Any, tuple[list[int], deque[Bucket]]] = {}
        self.ready: list[Bucket] = []

    def place(self, key: Any, order: int, t: float | None) -> list[Bucket] | Any:
        state = self.keys.get(key)
        if state is None:
            state = self.keys[key] = ([0], deque())
        position, buckets = state
        n = position[0]
        starts = n % self.slide == 0
        if not self._room(1 if starts else 0, len(buckets) + starts):
            return FULL
        if starts:
            buckets.append(Bucket(key, order, n, n + self.count))
        position[0] = n + 1
        buckets[0].fresh += 1
        self.held += 1
        for bucket in buckets:
            bucket.count += 1
        if buckets[0].count == self.count:
            self.ready.append(buckets[0])
        return list(buckets)

    def closed(self, now: float | None) -> list[Bucket]:
        ready, self.ready = self.ready, []
        for bucket in ready:
            self.keys[bucket.key][1].popleft()
            self._release(bucket)
        return ready

    def flush(self) -> list[Bucket]:
        out = [*self.closed(None)]
        for _, buckets in self.keys.values():
            while buckets:
                bucket = buckets.popleft()
                bucket.end = bucket.start + bucket.count
                self._release(bucket)
                out.append(bucket)
        return out


class _Timed(WindowState):
    """Windows closed by time: a heap of (end, start, key order) for the closing order."""

    def __init__(self, option: WindowOption, reduce: bool) -> None:
        super().__init__(option, reduce)
        self.heap: list[tuple[float, float, int, int, Bucket]] = []
        self.seq = itertools.count()
        self.watermark = -math.inf  # windows ending at or before it have closed

    def _schedule(self, bucket: Bucket) -> None:
        heapq.heappush(self.heap, (bucket.end, bucket.start, bucket.order, next(self.seq), bucket))

    def next_end(self) -> float | None:
        while self.heap and not self.heap[0][4].open:
            heapq.heappop(self.heap)
        return self.heap[0][0] if self.heap else None

    def closed(self, now: float | None) -> list[Bucket]:
        if now is None or now <= self.watermark:
            return []
        self.watermark = now
        out: list[Bucket] = []
        heap = self.heap
        while heap and heap[0][0] <= now:
            end, _, _, _, bucket = heapq.heappop(heap)
            if not bucket.open:
                continue
            if bucket.end > end:  # a session that grew since: look again later
                self._schedule(bucket)
                continue
            self._close(bucket)
            out.append(bucket)
        return out

    def flush(self) -> list[Bucket]:
        return self.closed(math.inf)

    def _close(self, bucket: Bucket) -> None:
        self._release(bucket)


class TimeWindows(_Timed):
    """``seconds: S`` (``slide: T``): windows ``[k*T, k*T + S)``, aligned to multiples of T."""

    def __init__(self, option: WindowOption, reduce: bool) -> None:
        super().__init__(option, reduce)
        assert option.seconds is not None
        self.size = option.seconds
        self.slide = float(option.slide or option.seconds)
        self.open_buckets: dict[tuple[Any, float], Bucket] = {}

    def place(self, key: Any, order: int, t: float | None) -> list[Bucket] | Any:
        assert t is not None
        slide, size = self.slide, self.size
        last = math.floor(t / slide)
        first = math.floor((t - size) / slide) + 1
        starts = [k * slide for k in range(first, last + 1)]
        starts = [s for s in starts if s + size > self.watermark and s <= t < s + size]
        if not starts:
            return []
        found = [self.open_buckets.get((key, s)) for s in starts]
        new = sum(1 for b in found if b is None)
        if not self._room(new, len(starts)):
            return FULL
        buckets = []
        for s, bucket in zip(starts, found, strict=True):
            if bucket is None:
                bucket = self.open_buckets[(key, s)] = Bucket(key, order, s, s + size)
                self._schedule(bucket)
            bucket.count += 1
            buckets.append(bucket)
        buckets[0].fresh += 1
        self.held += 1
        return buckets

    def _close(self, bucket: Bucket) -> None:
        del self.open_buckets[(bucket.key, bucket.start)]
        self._release(bucket)


class SessionWindows(_Timed):
    """``gap: S``: a key's window stays open while its items come less than S apart.

    In event time, an item between two open sessions of its key joins them
    into one. Sessions keep their items (with ``reduce`` they are folded
    when the session closes: two partial folds could not be joined).
    """

    def __init__(self, option: WindowOption, reduce: bool) -> None:
        super().__init__(option, False)  # items are kept, folded at the close
        assert option.gap is not None
        self.gap = option.gap
        self.sessions: dict[Any, list[Bucket]] = {}
        self.arrivals = itertools.count()

    def place(self, key: Any, order: int, t: float | None) -> list[Bucket] | Any:
        assert t is not None
        gap = self.gap
        if t + gap <= self.watermark:
            return []
        if not self._room(0, 1):
            return FULL
        sessions = self.sessions.setdefault(key, [])
        touching = [s for s in sessions if t < s.end and t + gap > s.start]
        if not touching:
            bucket = Bucket(key, order, t, t + gap)
            bucket.last = t
            sessions.append(bucket)
            sessions.sort(key=lambda s: s.start)
            self._schedule(bucket)
        else:
            bucket = touching[0]
            for other in touching[1:]:  # the item bridges sessions: one window now
                bucket.items.extend(other.items)
                bucket.items.sort(key=lambda pair: pair[0])
                bucket.count += other.count
                bucket.fresh += other.fresh
                bucket.start = min(bucket.start, other.start)
                bucket.last = max(bucket.last, other.last)
                other.open = False
                sessions.remove(other)
            bucket.start = min(bucket.start, t)
            bucket.last = max(bucket.last, t)
            bucket.end = bucket.last + gap
        bucket.count += 1
        bucket.fresh += 1
        self.held += 1
        return [bucket]

    def _close(self, bucket: Bucket) -> None:
        sessions = self.sessions[bucket.key]
        sessions.remove(bucket)
        if not sessions:
            del self.sessions[bucket.key]
        self._release(bucket)

    def next_arrival(self) -> int:
        """A number that orders items by arrival (kept with each item of a session)."""
        return next(self.arrivals)
