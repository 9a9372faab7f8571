"""Bounded links between Processors.

A :class:`Link` is the buffer of one node's input: a ``deque`` with a
capacity, the futures of consumers waiting for items and of producers
waiting for space, and a count of producers still open. It ends (``closed``)
when its last producer closes, like a trio channel whose last sender clone is
closed; a merge node's link simply has several producers.

The hot path does not call methods here: a Processor appends to ``buf`` and
pops from it inline and only calls :meth:`wait_items` / :meth:`wait_space`
when it has to wait, and the wake methods when the other side waits. One
wake-up therefore moves up to ``capacity`` items.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from .stall import NO_BOARD, Board

__all__ = ["BLOCK", "DROP_NEWEST", "DROP_OLDEST", "Link"]

#: Overflow policies (the ``overflow`` option's values).
BLOCK = "block"
DROP_OLDEST = "drop_oldest"
DROP_NEWEST = "drop_newest"


class _NewestDropping(deque[Any]):
    """The buffer of a ``drop_newest`` link: an append to a full buffer is counted and discarded.

    Producers append inline (the hot loops bind ``buf.append``), so the
    policy lives in the buffer; only links with this policy pay for the
    Python-level ``append``.
    """

    def __init__(self, link: Link) -> None:
        super().__init__()
        self.link = link

    def append(self, item: Any) -> None:
        link = self.link
        if len(self) < link.capacity:
            super().append(item)
        else:
            link.dropped += 1


class Link:
    """A bounded FIFO between producers and one consumer node."""

    __slots__ = (
        "board",
        "buf",
        "capacity",
        "closed",
        "dropped",
        "getters",
        "mark",
        "name",
        "overflow",
        "peak",
        "producers",
        "putters",
    )

    def __init__(
        self,
        name: str,
        capacity: int,
        producers: int = 1,
        board: Board = NO_BOARD,
        overflow: str = BLOCK,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        if overflow not in (BLOCK, DROP_OLDEST, DROP_NEWEST):
            raise ValueError(f"unknown overflow policy {overflow!r}")
        self.name = name
        self.overflow = overflow
        self.dropped = 0  # items discarded by the overflow policy
        self.buf: deque[Any] = _NewestDropping(self) if overflow == DROP_NEWEST else deque()
        self.capacity = capacity
        self.getters: list[asyncio.Future[None]] = []
        self.putters: list[asyncio.Future[None]] = []
        self.producers = producers
        self.closed = producers == 0
        self.peak = 0
        # Producers take the slow path (:meth:`reserve`) only when the depth
        # reaches ``mark``: a new peak or a full link. The peak is thus exact
        # at no cost per item.
        self.mark = 0
        self.board = board  # the run's stall detector

    def __len__(self) -> int:
        return len(self.buf)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.producers} producers"
        return f"<Link {self.name} {len(self.buf)}/{self.capacity} {state}>"

    # -- waking -------------------------------------------------------------

    def wake_getters(self) -> None:
        """Wake every consumer waiting for items (they re-check the buffer)."""
        getters, self.getters = self.getters, []
        self._wake_all(getters)

    def wake_putters(self) -> None:
        """One slot was freed: wake the producer that has waited longest.

        One per slot, not all of them: with many producers on a merge link,
        waking all would send all but one straight back to waiting.
        """
        putters = self.putters
        while putters:
            fut = putters.pop(0)
            if not fut.done():
                fut.set_result(None)
                self.board.done(fut)
                return

    def wake_all_putters(self) -> None:
        """The buffer was emptied at once: wake every waiting producer."""
        putters, self.putters = self.putters, []
        self._wake_all(putters)

    def _wake_all(self, futures: list[asyncio.Future[None]]) -> None:
        board = self.board
        for fut in futures:
            if not fut.done():
                fut.set_result(None)
                board.done(fut)

    # -- waiting ------------------------------------------------------------

    async def wait_items(self) -> None:
        """Wait until an item may be available or the link is closed.

        Cancellation is safe: no item is taken here, so none is lost. Raises
        :class:`~pipelines.GraphStalled` if every node of the run would wait.
        """
        fut = asyncio.get_running_loop().create_future()
        self.getters.append(fut)
        try:
            self.board.wait(fut, f"{self.name}: waits for an item ({len(self.buf)} queued)")
            await fut
        finally:
            self.board.done(fut)
            if not fut.done() or fut.cancelled():
                with contextlib.suppress(ValueError):
                    self.getters.remove(fut)

    async def wait_space(self) -> None:
        """Wait until the buffer is below capacity (returns at once if it is)."""
        while len(self.buf) >= self.capacity:
            fut = asyncio.get_running_loop().create_future()
            self.putters.append(fut)
            try:
                self.board.wait(
                    fut, f"{self.name}: full ({self.capacity} items), its producer waits for space"
                )
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self.wake_putters()  # this producer was given a slot it will not use
                raise
            finally:
                self.board.done(fut)
                if not fut.done() or fut.cancelled():
                    with contextlib.suppress(ValueError):
                        self.putters.remove(fut)

    async def reserve(self) -> int:
        """Slow path of a put: wait for space if full, record the new peak.

        Called when ``len(buf) >= mark``; on return one item may be appended
        (without awaiting in between). Returns the new ``mark``. A full link
        with an overflow policy makes room instead of waiting (:meth:`shed`).
        """
        if len(self.buf) >= self.capacity:
            if self.overflow != BLOCK:
                return self.shed()
            await self.wait_space()
        return self.note_put()

    def shed(self) -> int:
        """A full link with an overflow policy takes the next append without waiting.

        ``drop_oldest`` discards its oldest item now; with ``drop_newest``
        the buffer discards the item about to be appended. Either is counted
        in ``dropped``. Returns the ``mark`` (the capacity: the link is full).
        """
        if self.overflow == DROP_OLDEST:
            self.buf.popleft()
            self.dropped += 1
        return self.mark

    def note_put(self) -> int:
        """Record the depth the item about to be appended makes; return the new ``mark``."""
        depth = len(self.buf) + 1
        if depth > self.peak:
            self.peak = depth
        self.mark = mark = min(self.peak, self.capacity)
        return mark

    # -- slow-path helpers --------------------------------------------------

    async def put(self, item: Any) -> None:
        """Append one item, waiting while the link is full (backpressure)."""
        if len(self.buf) >= self.mark:
            await self.reserve()
        self.buf.append(item)
        if self.getters:
            self.wake_getters()

    def close_one(self) -> None:
        """One producer is done; the link ends when the last one is."""
        self.producers -= 1
        if self.producers <= 0:
            self.closed = True
            self.wake_getters()
