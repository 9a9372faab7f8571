"""A replica's reading loop: read, take over idle entries, hand each entry on, finish.

:class:`StreamLoop` reads its streams with ``XREADGROUP`` (one entry at a
time: an entry is already a batch, and one batch per step keeps each link
within its capacity plus one batch), and every ``reclaim_after / 2`` seconds
of its clock takes over entries idle longer than ``reclaim_after``
(``XAUTOCLAIM``: their worker died or hangs), with their delivery counts.
When a read finds nothing, or after an end marker, it checks whether its
node is finished. Subclasses say how an entry is handled (a call, or a zip's
join) and may return the next entry, read in the same round trip.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from redis.exceptions import ResponseError

from ..clock import Clock
from .connection import Redis
from .entries import Entry, parse_entries, parse_read
from .runctx import GROUP, RunGone

if TYPE_CHECKING:
    from .replica import Replica

__all__ = [
    "IDLE_BLOCK",
    "NEAR_END_BLOCK",
    "RECLAIM_COUNT",
    "StreamLoop",
    "StreamRef",
    "gone_on_nogroup",
    "keep_alive",
]

log = logging.getLogger("pipelines")

#: Milliseconds a read waits for an entry before looking at the node's end.
IDLE_BLOCK = 250
#: The same once every input link has ended: the node is about to finish.
NEAR_END_BLOCK = 20
#: Entries taken over per ``XAUTOCLAIM``.
RECLAIM_COUNT = 16


@dataclass(frozen=True, slots=True)
class StreamRef:
    """One stream a loop reads: its key, its counters, its end-marker set."""

    stream: str
    link: str
    ends: str
    position: int  # 1-based place among the node's inputs (a zip's join needs it)
    wake: str = ""  # the link's wake-up list (producers wait on it while it is full)
    capacity: int = 0


def gone_on_nogroup(exc: ResponseError) -> NoReturn:
    """A stream or group that vanished means the run's keys were deleted: the run is gone."""
    text = str(exc)
    if "NOGROUP" in text or "UNBLOCKED" in text or "no such key" in text:
        raise RunGone(str(exc)) from None
    raise exc


async def keep_alive(
    redis: Redis, clock: Clock, period: float, consumer: str, held: dict[bytes, set[bytes]]
) -> None:
    """Every ``period`` seconds, reset the idle time of the entries in hand (``KEEP``).

    So a live worker's entries are never taken over, however long a call
    takes; only a dead (or frozen) worker's entries grow idle.
    """
    while True:
        await clock.sleep(period)
        for stream, ids in list(held.items()):
            if ids:
                await redis.keep(keys=[stream.decode()], args=[GROUP, consumer, *ids])


class StreamLoop:
    """Reads a replica's streams and hands every entry to :meth:`handle`."""

    def __init__(self, replica: Replica, refs: list[StreamRef]) -> None:
        self.replica = replica
        self.ctx = replica.ctx
        self.refs = refs
        self.by_stream = {ref.stream.encode(): ref for ref in refs}
        self.consumer = replica.consumer
        self.cursors = {ref.stream: "0-0" for ref in refs}
        self.period = self.ctx.transport.reclaim_after / 2
        self.next_reclaim = self.ctx.clock.monotonic() + self.period

    async def handle(self, entry: Entry, read_next: bool) -> list[Entry]:
        """Process one entry and acknowledge it; return the next entries if read along."""
        raise NotImplementedError

    async def run(self) -> None:
        """Until the node is finished (or the replica leaves): read, handle, repeat."""
        replica = self.replica
        finisher = replica.finisher
        pending: deque[Entry] = deque()
        while True:
            if replica.halted:
                raise RunGone(self.ctx.run_id)
            if not pending:
                if replica.leaving or finisher.done:
                    return
                if self.ctx.clock.monotonic() >= self.next_reclaim:
                    pending.extend(await self.reclaim())
            if not pending:
                entries = await self.read(NEAR_END_BLOCK if finisher.inputs_ended else IDLE_BLOCK)
                if not entries:
                    if await finisher.try_finish():
                        return
                    continue
                pending.extend(entries)
            entry = pending.popleft()
            if entry.wake:
                if await finisher.try_finish():
                    return
                continue
            replica.hold(entry)
            try:
                more = await self.handle(entry, not pending and not replica.leaving)
            finally:
                replica.release(entry)
            pending.extend(more)
            if entry.end is not None and not pending and await finisher.try_finish():
                return

    async def read(self, block_ms: int) -> list[Entry]:
        """Up to one new entry per stream, waiting at most ``block_ms``."""
        try:
            reply = await self.ctx.redis.client.xreadgroup(
                GROUP,
                self.consumer,
                {ref.stream: ">" for ref in self.refs},
                count=1,
                block=block_ms,
            )
        except ResponseError as exc:
            gone_on_nogroup(exc)
        return parse_read(reply)

    async def reclaim(self) -> list[Entry]:
        """Take over entries idle longer than ``reclaim_after`` (their worker died or hangs)."""
        ctx = self.ctx
        self.next_reclaim = ctx.clock.monotonic() + self.period
        idle_ms = int(ctx.transport.reclaim_after * 1000)
        out: list[Entry] = []
        for ref in self.refs:
            try:
                cursor, raw, counts = await ctx.redis.reclaim(
                    keys=[ref.stream],
                    args=[GROUP, self.consumer, idle_ms, self.cursors[ref.stream], RECLAIM_COUNT],
                )
            except ResponseError as exc:
                gone_on_nogroup(exc)
            self.cursors[ref.stream] = cursor.decode()
            if raw:
                log.info(
                    "pipelines: %s took over %d idle entries of %s",
                    self.consumer,
                    len(raw),
                    ref.stream,
                )
            for one, count in zip(raw, counts, strict=True):
                for entry in parse_entries([one], ref.stream.encode()):
                    entry.deliveries = int(count)
                    out.append(entry)
        return out
