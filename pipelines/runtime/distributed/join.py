"""A zip across replicas: items meet their partners in Redis, by sequence number.

The replicas of a zip node share its input links, so the partners of an item
(the items of the other inputs with the same sequence number) may reach any
of them. The join therefore happens in Redis: for each item, the ``JOIN``
script looks for its partners in the other inputs' buffers; when all are
there, the tuple goes to the zip's internal link (``JOINED``), where the
replicas' calls take it; otherwise the item waits in its input's buffer. An
item waiting still counts in its link's backlog, so a zip input that runs
ahead fills up and its producer waits, as in one process. What is left in
the buffers when every input has ended is counted as dropped (the in-process
zip drops the rest of its longer inputs the same way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .consume import StreamLoop, StreamRef
from .entries import Entry
from .handoff import CallLoop, decode_batch
from .keys import JOINED
from .runctx import GROUP, RunGone
from .seqs import Seqs, seq_text

if TYPE_CHECKING:
    from .replica import Replica

__all__ = ["JoinLoop"]


class JoinLoop(StreamLoop):
    """A zip replica's reads of its input links, joined in Redis."""

    def __init__(self, replica: Replica, refs: list[StreamRef]) -> None:
        super().__init__(replica, refs)
        ctx = self.ctx
        keys = ctx.keys
        name = replica.name
        self.width = len(refs)
        self.buffers = [keys.zipbuf(name, i) for i in range(self.width)]
        self.links = [ref.link for ref in refs]
        self.wakes = [ref.wake for ref in refs]
        self.joined_wake = keys.wake(name, JOINED)
        self.joined = keys.stream(name, JOINED)
        self.joined_link = keys.link(name, JOINED)
        self.capacity = ctx.topology.joined[name].capacity
        self._helpers: dict[bytes, CallLoop] = {}

    def _helper(self, entry: Entry) -> CallLoop:
        """The failure paths of a call loop on the entry's stream (poison, unreadable)."""
        helper = self._helpers.get(entry.stream)
        if helper is None:
            ref = self.by_stream[entry.stream]
            helper = CallLoop(self.replica, ref, decode_batch(self.ctx.codec))
            self._helpers[entry.stream] = helper
        return helper

    async def handle(self, entry: Entry, read_next: bool) -> list[Entry]:
        """Join the entry's items with their partners; acknowledge it."""
        ref = self.by_stream[entry.stream]
        if entry.end is not None:
            await self.join(ref, entry, [entry.end], [])
            return []
        if entry.deliveries > self.ctx.transport.max_deliveries:
            return await self._helper(entry).poison(entry, False)
        codec = self.ctx.codec
        try:
            items = codec.loads_many(entry.blob)
            seqs = Seqs.decode(entry.seqs, entry.count)
        except Exception as exc:
            return await self._helper(entry).unreadable(entry, exc, False)
        flat: list[Any] = []
        for i, item in enumerate(items):
            flat += (seq_text(seqs[i]), codec.dumps_many([item]))
        await self.join(ref, entry, [], flat)
        return []

    async def join(self, ref: StreamRef, entry: Entry, ends: list[str], flat: list[Any]) -> None:
        """Run ``JOIN`` until the internal link has room."""
        ctx = self.ctx
        keys = [
            ctx.keys.meta,
            ref.stream,
            ref.ends,
            self.joined,
            self.joined_link,
            *self.buffers,
            *self.links,
            *self.wakes,
        ]
        args: list[Any] = [
            GROUP,
            self.consumer,
            ref.position,
            self.width,
            self.capacity,
            1,
            entry.id,
            len(ends),
            *ends,
            len(flat) // 2,
            *flat,
        ]
        while True:
            reply = await ctx.redis.join(keys=keys, args=args)
            status = reply[0]
            if status in (b"O", b"L"):
                return  # joined, or taken over by another replica
            if status == b"F":  # the joined link is full: wait for the calls to free space
                await ctx.redis.wait_space(self.joined_wake)
                continue
            raise RunGone(ctx.run_id)
