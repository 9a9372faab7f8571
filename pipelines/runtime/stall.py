"""Stall detection: a run in which every node waits on another never ends.

The typical cause is a zip whose inputs carry different numbers of items (a
filter on one branch): with bounded links, its other inputs fill up, their
producers wait for space, and nothing can move again. Instead of hanging,
the run raises :class:`~pipelines.GraphStalled` naming what each node waits
for.

The :class:`Board` counts the run's actors (node loops and workers) and the
futures they wait on inside the engine (links, the ordered-results window, a
node's own workers). A waker removes a future when it resolves it, so a task
that was woken but has not run yet never counts as waiting. When every
living actor waits, nothing can wake any of them: that is a stall. All of
this happens on the wait and wake slow paths, never per item.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .signals import EngineSignal

__all__ = [
    "NO_BOARD",
    "Board",
    "Stalled",
]

_NEVER = 2**62  # more actors than any run has: no stall can be seen


class Stalled(EngineSignal):
    """Raised inside the run where a stall is found; ``run()`` raises
    :class:`~pipelines.GraphStalled` from it.

    An engine signal, so that no ``except Exception`` on the way (a node's
    ``on_error`` handling, a user's source) mistakes it for a failure.
    """

    def __init__(self, waits: list[str]) -> None:
        super().__init__(waits)
        self.waits = waits


class Board:
    """Who is alive and what each waiting actor waits for, for one run."""

    __slots__ = ("alive", "waits")

    def __init__(self, alive: int = 0) -> None:
        self.alive = alive
        self.waits: dict[asyncio.Future[Any], str] = {}

    def wait(self, fut: asyncio.Future[Any], what: str) -> None:
        """An actor is about to await ``fut``; raise if that leaves nobody to wake it."""
        self.waits[fut] = what
        self._check()

    def done(self, fut: asyncio.Future[Any]) -> None:
        """``fut`` was resolved (or its waiter left): it no longer counts."""
        self.waits.pop(fut, None)

    def join(self, count: int = 1) -> None:
        """``count`` more actors are alive (a node's workers)."""
        self.alive += count

    def leave(self) -> None:
        """An actor finished normally; raise if everybody left waits forever."""
        self.alive -= 1
        self._check()

    def disable(self) -> None:
        """An actor failed or was cancelled: the run is ending, stop looking for stalls."""
        self.alive = _NEVER

    def wake_all(self, waiters: list[asyncio.Future[None]]) -> None:
        """Resolve every future of ``waiters`` (emptying it) and forget them here."""
        # No copy: resolving a future only schedules its callbacks, so nothing
        # changes the list while it is walked.
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
                self.done(fut)
        waiters.clear()

    async def park(self, waiters: list[asyncio.Future[None]], what: str) -> None:
        """Wait on a new future put in ``waiters`` until :meth:`wake_all` resolves it.

        The board sees the wait (``what`` says on what), so a stall is found.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(fut)
        try:
            self.wait(fut, what)
            await fut
        finally:
            self.done(fut)

    def _check(self) -> None:
        if 0 < self.alive <= len(self.waits):
            raise Stalled(sorted(set(self.waits.values())))


#: A board for links used outside a run: never reports a stall.
NO_BOARD = Board(alive=_NEVER)
