"""A virtual clock for tests: time advances only when told to."""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["VirtualClock"]


class VirtualClock:
    """A :class:`~pipelines.runtime.clock.Clock` whose time moves only by :meth:`advance`.

    ``monotonic()`` starts at 0.0 and ``time()`` at ``start`` (epoch seconds);
    both move together. ``await clock.advance(s)`` moves time forward step by
    step to each sleeper's deadline (in deadline order, then in the order the
    sleeps began), waking that sleeper and letting the event loop run until
    it is quiet before moving on, so whatever a woken task does at time ``t``
    happens before anything scheduled later.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = 0.0
        self._epoch = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
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
        heapq.heappush(self._sleepers, (deadline, next(self._order), fut))
        await fut

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting (cancelled ones excluded)."""
        return sum(1 for _, _, fut in self._sleepers if not fut.done())

    def next_deadline(self) -> float | None:
        """The earliest deadline a sleeper waits for, if any."""
        for deadline, _, fut in sorted(self._sleepers):
            if not fut.done():
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
        target = self._now + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, fut = heapq.heappop(self._sleepers)
            if fut.done():  # cancelled
                continue
            self._now = max(self._now, deadline)
            fut.set_result(None)
            await self.settle()
        self._now = target
        await self.settle()

    async def advance_to(self, when: float) -> None:
        """Move ``monotonic()`` forward to ``when``."""
        await self.advance(max(0.0, when - self._now))

    def __repr__(self) -> str:
        return f"VirtualClock(monotonic={self._now:g}, sleepers={self.sleepers})"
