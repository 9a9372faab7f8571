"""When a schedule's occurrences fall: pure functions of epoch seconds, no clock, no I/O.

* ``interval: S``: the multiples of S seconds since the Unix epoch (UTC), so
  every process computes the same occurrences (``interval: 60`` falls on
  every whole minute, ``interval: 3600`` on every whole hour, UTC).
* ``cron: EXPR`` with ``timezone``: the wall-clock times EXPR names in that
  zone (croniter reads the expression; zoneinfo maps wall times to instants).
  Daylight saving time: a wall time that does not exist (the hour skipped in
  spring) falls at the first instant after the gap, once however many of its
  times the gap holds; a wall time that exists twice (the hour repeated in
  autumn) falls once, at its first pass.

:func:`window` lists the occurrences of a span, bounded: a server that was
down for a year does not enumerate a million of them.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from croniter import croniter

from ..spec.schedule import ScheduleSpec

__all__ = [
    "COUNT_LIMIT",
    "CronTiming",
    "IntervalTiming",
    "Timing",
    "Window",
    "timing_of",
    "window",
]

#: Occurrences counted one by one in a span before the rest is only bounded by its range.
COUNT_LIMIT = 10_000


class Timing(Protocol):
    """The occurrences of a schedule."""

    def after(self, moment: float) -> float | None:
        """The first occurrence strictly after ``moment`` (epoch seconds), None if there is none."""
        ...


@dataclass(frozen=True, slots=True)
class IntervalTiming:
    """Every ``interval`` seconds: the multiples of it since the Unix epoch."""

    interval: float

    def after(self, moment: float) -> float:
        """The first multiple of the interval strictly after ``moment``."""
        k = math.floor(moment / self.interval) + 1
        due = self.at(k)
        while due <= moment:  # floating point: never give a time at or before ``moment``
            k += 1
            due = self.at(k)
        return due

    def at(self, k: int) -> float:
        """The occurrence of index ``k``: ``k * interval``."""
        return float(round(k * self.interval, 6))

    def span(self, after: float, until: float) -> tuple[int, int]:
        """The indices ``k`` of the occurrences in ``(after, until]`` (``first > last``: none)."""
        first = math.floor(after / self.interval) + 1
        while self.at(first) <= after:
            first += 1
        last = math.floor(until / self.interval)
        while last >= first and self.at(last) > until:
            last -= 1
        return first, last


@dataclass(frozen=True, slots=True)
class CronTiming:
    """The wall-clock times of a cron expression in a time zone (see the module doc)."""

    expression: str
    timezone: str = "UTC"
    zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", zoneinfo.ZoneInfo(self.timezone))

    def after(self, moment: float) -> float | None:
        """The first occurrence strictly after ``moment``."""
        return next(self.iterate(moment), None)

    def iterate(self, moment: float) -> Iterator[float]:
        """The occurrences after ``moment``, in order, each once (a generator)."""
        local = dt.datetime.fromtimestamp(moment, self.zone).replace(tzinfo=None)
        # Start a minute early so a wall time skipped or repeated around ``moment``
        # is still seen; what is not after ``moment`` is passed over below.
        walker = croniter(self.expression, local - dt.timedelta(minutes=1))
        last = moment
        misses = 0
        while True:
            try:
                wall = walker.get_next(dt.datetime)
            except (ValueError, KeyError):  # croniter found no next date
                return
            instant = self.instant(wall)
            if instant > last:
                misses = 0
                last = instant
                yield instant
            else:
                misses += 1
                if misses > 100_000:  # cannot happen with a valid expression: never spin
                    return

    def instant(self, wall: dt.datetime) -> float:
        """The epoch seconds of a wall-clock time in the zone (see the module doc for DST)."""
        first = wall.replace(tzinfo=self.zone, fold=0).timestamp()
        if dt.datetime.fromtimestamp(first, self.zone).replace(tzinfo=None) == wall:
            return first  # it exists (its first pass, if it exists twice)
        # In a gap: find the first instant whose wall time is not before ``wall``.
        low = math.floor(wall.replace(tzinfo=self.zone, fold=1).timestamp())
        high = math.ceil(first)
        while high - low > 1:
            middle = (low + high) // 2
            if dt.datetime.fromtimestamp(middle, self.zone).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle
        return float(high)


def timing_of(spec: ScheduleSpec) -> IntervalTiming | CronTiming:
    """The timing of a validated ``schedule:``."""
    if spec.interval is not None:
        return IntervalTiming(spec.interval)
    assert spec.cron is not None
    return CronTiming(spec.cron, spec.timezone)


@dataclass(frozen=True, slots=True)
class Window:
    """The occurrences of a span: the newest ``kept`` one by one (oldest first), and the
    older ones beyond the bound as a range (``dropped`` of them; None: too many to count)."""

    kept: list[float]
    dropped: int | None = 0
    dropped_first: float | None = None
    dropped_last: float | None = None

    @property
    def empty(self) -> bool:
        """True when nothing fell in the span."""
        return not self.kept and not self.dropped_first


def window(timing: IntervalTiming | CronTiming, after: float, until: float, keep: int) -> Window:
    """The occurrences in ``(after, until]``: at most ``keep`` newest one by one, the rest as a
    range. Costs at most :data:`COUNT_LIMIT` steps for a cron timing, O(keep) for an interval."""
    if until <= after:
        return Window([])
    if isinstance(timing, IntervalTiming):
        first, last = timing.span(after, until)
        if first > last:
            return Window([])
        start = max(first, last - keep + 1)
        kept = [timing.at(k) for k in range(start, last + 1)]
        if start == first:
            return Window(kept)
        return Window(kept, start - first, timing.at(first), timing.at(start - 1))
    return _cron_window(timing, after, until, keep)


def _cron_window(timing: CronTiming, after: float, until: float, keep: int) -> Window:
    newest: collections.deque[float] = collections.deque(maxlen=keep)
    first: float | None = None
    older_last: float | None = None
    count = 0
    for due in timing.iterate(after):
        if due > until:
            break
        if first is None:
            first = due
        if len(newest) == keep:
            older_last = newest[0]
        newest.append(due)
        count += 1
        if count >= COUNT_LIMIT + keep:
            return _cron_tail(timing, first, until, keep)
    if first is None:
        return Window([])
    dropped = count - len(newest)
    if not dropped:
        return Window(list(newest))
    return Window(list(newest), dropped, first, older_last)


def _cron_tail(timing: CronTiming, first: float, until: float, keep: int) -> Window:
    """Too many to count: the newest ``keep`` before ``until`` found by walking back in
    growing steps; everything from ``first`` to just before them is one uncounted range."""
    span = 3600.0
    while True:
        start = max(first, until - span)
        tail: list[float] = []
        previous: float | None = None
        for due in timing.iterate(start):
            if due > until:
                break
            tail.append(due)
        if len(tail) >= keep or start == first:
            kept = tail[-keep:]
            before = tail[: len(tail) - len(kept)]
            if before:
                previous = before[-1]
            else:
                # The occurrence just before the kept ones: walk from a little earlier.
                for due in timing.iterate(start - span):
                    if due >= kept[0]:
                        break
                    previous = due
            return Window(kept, None, first, previous)
        span *= 4
