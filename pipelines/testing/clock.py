"""A virtual clock for tests: time advances only when told to."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

__all__ = ["VirtualClock"]


class _VirtualTimer:
    """One callback waiting for a virtual deadline (a sleep or a ``call_at``)."""

    __slots__ = ("callback", "cancelled", "fired")

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False
        self.fired = False

    @property
    def pending(self) -> bool:
        return not (self.cancelled or self.fired)

    def cancel(self) -> None:
        """Do not run the callback (no effect once it ran)."""
        self.cancelled = True


class VirtualClock:
    """A :class:`~pipelines.runtime.clock.Clock` whose time moves only by :meth:`advance`.

    ``monotonic()`` starts at 0.0 and ``time()`` at ``start`` (epoch seconds);
    both move together. ``await clock.advance(s)`` moves time forward step by
    step to each timer's deadline (sleeps and ``call_at`` callbacks alike, in
    deadline order, then in the order they were made), waking that sleeper
    or running that callback and letting the event loop run until it is
    quiet before moving on, so whatever a woken task does at time ``t``
    happens before anything scheduled later.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = 0.0
        self._epoch = start
        self._timers: list[tuple[float, int, _VirtualTimer]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made."""
        return self._now

    def time(self) -> float:
        """Virtual seconds since the epoch."""
        return self._epoch + self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until ``advance`` has moved time ``seconds`` further."""
        await self.sleep_until(self._now + max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        """Wait until ``advance`` has moved ``monotonic()`` to ``deadline``."""
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = self.call_at(deadline, wake)
        try:
            await fut
        finally:
            timer.cancel()

    def call_at(self, deadline: float, callback: Callable[[], object]) -> _VirtualTimer:
        """Run ``callback()`` when ``advance`` moves ``monotonic()`` to ``deadline``.

        A deadline already reached runs at the next ``advance`` (even of 0
        seconds), before later ones. Returns a timer whose ``cancel()`` stops it.
        """
        timer = _VirtualTimer(callback)
        heapq.heappush(self._timers, (float(deadline), next(self._order), timer))
        return timer

    @property
    def sleepers(self) -> int:
        """How many sleeps and timers are waiting (cancelled ones excluded)."""
        return sum(1 for _, _, timer in self._timers if timer.pending)

    def next_deadline(self) -> float | None:
        """The earliest deadline a sleeper or timer waits for, if any."""
        for deadline, _, timer in sorted(self._timers, key=lambda entry: entry[:2]):
            if timer.pending:
                return deadline
        return None

    async def settle(self) -> None:
        """Let the event loop run until every ready task has run (a few passes)."""
        for _ in range(20):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking sleepers at their deadlines in order."""
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        target = self._now + float(seconds)
        await self.settle()
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._timers)
            if not timer.pending:  # cancelled
                continue
            self._now = max(self._now, float(deadline))
            timer.fired = True
            timer.callback()
            await self.settle()
        self._now = target
        await self.settle()

    async def advance_to(self, when: float) -> None:
        """Move ``monotonic()`` forward to ``when``."""
        await self.advance(max(0.0, when - self._now))

    def __repr__(self) -> str:
        return f"VirtualClock(monotonic={self._now:g}, sleepers={self.sleepers})"
