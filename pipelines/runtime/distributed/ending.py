"""End of stream across workers: when a link has ended, when a node is finished.

Every replica of a node writes an end marker on each of its output links when
it stops (the node finished, or its worker leaves). A link has **ended** when
every node feeding it is finished and every replica of those nodes has
either had its end marker read (the consumer records it in the link's
``ends`` set when it acknowledges the marker) or is dead (its worker's
heartbeat expired). A node is **finished** when all its input links have
ended and its input streams are empty: everything was read, handed on and
acknowledged, so no replica holds anything of it. Both conditions only ever
turn true, which is why they can be checked in two steps (links ended, then
streams empty, in that order: nothing arrives on an ended link).
"""

from __future__ import annotations

from .keys import JOINED
from .runctx import RunContext, RunGone, now_ms
from .topology import LinkSpec

__all__ = ["Finisher"]


class Finisher:
    """Decides when one node is finished; one per replica."""

    def __init__(self, ctx: RunContext, node: str) -> None:
        self.ctx = ctx
        self.node = node
        keys = ctx.keys
        self.links = ctx.topology.inputs[node]
        zipped = ctx.topology.is_zip(node)
        self.streams = [keys.stream(node, link.index) for link in self.links]
        if zipped:
            self.streams.append(keys.stream(node, JOINED))
        self.buffers = [keys.zipbuf(node, i) for i in range(len(self.links))] if zipped else []
        self.zip_links = [keys.link(node, link.index) for link in self.links] if zipped else []
        self.ended: set[int | str] = set()
        self.done = False

    @property
    def inputs_ended(self) -> bool:
        """True once every input link was seen ended (the node is about to finish)."""
        return len(self.ended) == len(self.links)

    async def is_finished(self) -> bool:
        """True if the node was marked finished (by any replica)."""
        if not self.done:
            self.done = bool(await self.ctx.redis.client.hexists(self.ctx.keys.fin, self.node))
        return self.done

    async def try_finish(self) -> bool:
        """Mark the node finished if it is; True when it is (whoever marked it).

        Raises :class:`RunGone` when the run is no longer running.
        """
        if self.done:
            return True
        if await self.is_finished():
            return True
        for link in self.links:
            if link.index not in self.ended:
                if not await self.link_ended(link):
                    return False
                self.ended.add(link.index)
        ctx = self.ctx
        keys = ctx.keys
        done = await ctx.redis.finish(
            keys=[
                keys.meta,
                keys.fin,
                keys.stats(self.node),
                *self.streams,
                *self.buffers,
                *self.zip_links,
            ],
            args=[self.node, now_ms(), len(self.streams), len(self.buffers)],
        )
        if done == -2:
            raise RunGone(ctx.run_id)
        if done == 1:
            await ctx.emit("node_finished", self.node)
            await self._wake_siblings()
        self.done = done in (0, 1)
        return self.done

    async def _wake_siblings(self) -> None:
        """The other replicas may be waiting in a read: one wake-up entry each, per stream."""
        ctx = self.ctx
        client = ctx.redis.client
        siblings = await client.hlen(ctx.keys.replicas(self.node)) - 1
        if siblings <= 0:
            return
        pipe = client.pipeline(transaction=False)
        for stream in self.streams:
            for _ in range(siblings):
                pipe.xadd(stream, {"w": ctx.instance})
        await pipe.execute()

    async def link_ended(self, link: LinkSpec) -> bool:
        """True if every producer of ``link`` finished and each of its replicas ended or died."""
        ctx = self.ctx
        keys = ctx.keys
        client = ctx.redis.client
        pipe = client.pipeline(transaction=False)
        pipe.hmget(keys.fin, list(link.producers))
        for producer in link.producers:
            pipe.hgetall(keys.replicas(producer))
        pipe.smembers(keys.ends(link.consumer, link.index))
        replies = await pipe.execute()
        if not all(replies[0]):
            return False
        ends = replies[-1]
        alive: list[bytes] = []
        for replicas in replies[1:-1]:
            for replica, beat in replicas.items():
                if replica in ends:
                    continue
                if beat.startswith(b"-"):
                    return False  # its end marker is on the way (in the stream, unread)
                alive.append(beat)
        if not alive:
            return True
        pipe = client.pipeline(transaction=False)
        for beat in alive:
            pipe.exists(beat)
        return not any(await pipe.execute())
