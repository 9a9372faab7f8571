"""``batch``: the node's function gets lists of up to ``size`` items.

A list is called as soon as it has ``size`` items; with ``timeout``, a
shorter one is called ``timeout`` seconds (of the node's clock) after its
first item was taken; at the end of the stream (a drain included) the rest
is called. The function returns an iterable of results, each sent on as one
item (``None``: no results).

This is the engine's path for heavy traffic, so it moves items in bulk:
taking ``size`` items from a link is one C-level loop, a list from a batch
node upstream (a :class:`ChunkLink`) is handed to the function as it is
when it has exactly ``size`` items, and results go on with one ``extend``
(or as one list to a batch node downstream). Bound: the list being filled,
at most ``size`` items.
"""

from __future__ import annotations

from itertools import repeat, starmap
from typing import TYPE_CHECKING, Any

from ..taking import END
from .calling import NO_KEY, Calls
from .chunks import ChunkLink
from .waiting import TIMEOUT, take_zip_until, wait_inputs

if TYPE_CHECKING:
    from ..node import Node

__all__ = ["Batcher"]


class Batcher:
    """The loop of one batch node and the list it is filling."""

    def __init__(self, node: Node, calls: Calls) -> None:
        option = node.spec.options.batch
        assert option is not None
        self.node = node
        self.calls = calls
        self.size = option.size
        self.timeout = option.timeout
        self.pending: list[Any] = []

    @property
    def held(self) -> int:
        """Items of the list being filled: what a cancellation would lose."""
        return len(self.pending)

    async def feed(self) -> None:
        """Fill and call lists until the input ends, then call the rest."""
        node = self.node
        if len(node.inputs) > 1:
            await self._feed_zip()
        elif isinstance(node.inputs[0], ChunkLink):
            await self._feed_lists()
        else:
            await self._feed_items()
        if self.pending:
            await self._flush()

    async def _flush(self) -> None:
        batch, self.pending = self.pending, []
        await self.calls.submit(batch, len(batch), NO_KEY)

    def _deadline(self) -> float | None:
        return None if self.timeout is None else self.node.clock.monotonic() + self.timeout

    async def _feed_items(self) -> None:
        node = self.node
        clock = node.clock
        stats = node.stats
        submit = self.calls.submit
        size = self.size
        link = node.inputs[0]
        buf = link.buf
        popleft = buf.popleft
        deadline: float | None = None
        while True:
            n = len(buf)
            if n:
                pending = self.pending
                if not pending and n >= size:
                    # The fast path: a whole list straight from the link.
                    if n == size:
                        batch = list(buf)
                        buf.clear()
                    else:
                        batch = list(starmap(popleft, repeat((), size)))
                    if link.putters:
                        link.wake_all_putters()
                    stats.received += size
                    await submit(batch, size, NO_KEY)
                    continue
                if not pending:
                    deadline = self._deadline()
                need = size - len(pending)
                if n <= need:
                    pending.extend(buf)
                    buf.clear()
                else:
                    pending.extend(starmap(popleft, repeat((), need)))
                    n = need
                if link.putters:
                    link.wake_all_putters()
                stats.received += n
                if len(pending) >= size or (deadline is not None and clock.monotonic() >= deadline):
                    await self._flush()
                continue
            if link.closed:
                return
            if self.pending and deadline is not None:
                if clock.monotonic() >= deadline:
                    await self._flush()
                    continue
                await wait_inputs(node, (link,), deadline)
            else:
                await link.wait_items()

    async def _feed_lists(self) -> None:
        """Input from a batch node: lists, handed on whole when they have exactly ``size`` items."""
        node = self.node
        clock = node.clock
        stats = node.stats
        submit = self.calls.submit
        size = self.size
        link = node.inputs[0]
        assert isinstance(link, ChunkLink)
        buf = link.buf
        popleft = buf.popleft
        deadline: float | None = None
        while True:
            if buf:
                chunk = popleft()
                if link.putters:
                    link.wake_putters()
                n = len(chunk)
                stats.received += n
                pending = self.pending
                if not pending:
                    if n == size:
                        await submit(chunk, n, NO_KEY)
                        continue
                    deadline = self._deadline()
                pending.extend(chunk)
                while len(pending) >= size:
                    batch, self.pending = pending[:size], pending[size:]
                    pending = self.pending
                    await submit(batch, size, NO_KEY)
                if pending and deadline is not None and clock.monotonic() >= deadline:
                    await self._flush()
                continue
            if link.closed:
                tail, link.tail = link.tail, None
                if tail:  # what a source's pump was filling when it ended
                    buf.append(tail)
                    continue
                return
            if self.pending and deadline is not None:
                if clock.monotonic() >= deadline:
                    await self._flush()
                    continue
                await wait_inputs(node, (link,), deadline)
            else:
                await link.wait_items()

    async def _feed_zip(self) -> None:
        """A zip's tuples, one at a time (zips are not the heavy-traffic path)."""
        node = self.node
        clock = node.clock
        deadline: float | None = None
        while True:
            wait_until = deadline if self.pending else None
            item = await take_zip_until(node, wait_until)
            if item is END:
                return
            if item is not TIMEOUT:
                if not self.pending:
                    deadline = self._deadline()
                self.pending.append(item)
                node.stats.received += 1
            if len(self.pending) >= self.size or (
                self.pending and deadline is not None and clock.monotonic() >= deadline
            ):
                await self._flush()
