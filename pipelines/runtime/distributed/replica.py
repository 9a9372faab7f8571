"""A replica: one worker's share of one node in one run.

Every replica of a node is a consumer in the node's group(s), so the entries
of its input links are spread over the replicas. A replica registers (the
node's replicas hash maps it to the heartbeat key that says it is alive),
runs its loop(s) until the node is finished or its worker leaves, keeps its
entries in hand from being taken over while it works on them (``KEEP``,
every ``reclaim_after / 3``), and writes its end marker on every output link
when it stops. A zip node's replica runs two loops: the join of its inputs,
and the calls on the joined tuples.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..node import Node
from .consume import StreamLoop, StreamRef, keep_alive
from .ending import Finisher
from .entries import Entry
from .handoff import CallLoop, Output, decode_batch, decode_joined
from .join import JoinLoop
from .keys import JOINED
from .runctx import RunContext, RunGone, now_ms

__all__ = ["Replica"]


class Replica:
    """One worker's share of one node in one run."""

    def __init__(self, ctx: RunContext, node: Node) -> None:
        self.ctx = ctx
        self.node = node
        self.name = node.name
        self.consumer = ctx.consumer(node.name)
        self.finisher = Finisher(ctx, node.name)
        self.leaving = False
        #: set when the run is over for this worker (failed, stopped): loops end at once
        self.halted = False
        self.held: dict[bytes, set[bytes]] = {}
        self.outputs = self._outputs()

    def _outputs(self) -> list[Output]:
        ctx, name = self.ctx, self.name
        keys, topo = ctx.keys, ctx.topology
        outs = [
            Output(
                keys.stream(t.link.consumer, t.link.index),
                keys.link(t.link.consumer, t.link.index),
                t.link.capacity,
                t.head,
                "data",
                keys.wake(t.link.consumer, t.link.index),
            )
            for t in topo.targets[name]
        ]
        dead = topo.dead[name]
        if dead is not None:
            link = dead.link
            outs.append(
                Output(
                    keys.stream(link.consumer, link.index),
                    keys.link(link.consumer, link.index),
                    link.capacity,
                    dead.head,
                    "dead",
                    keys.wake(link.consumer, link.index),
                )
            )
        if self.node.spec.options.collect:
            outs.append(Output(keys.outputs(name), keys.link(name, "o"), 0, None, "collect"))
        return outs

    def refs(self) -> list[StreamRef]:
        """The streams of the node's input links."""
        keys = self.ctx.keys
        return [
            StreamRef(
                keys.stream(self.name, link.index),
                keys.link(self.name, link.index),
                keys.ends(self.name, link.index),
                position + 1,
                keys.wake(self.name, link.index),
                link.capacity,
            )
            for position, link in enumerate(self.ctx.topology.inputs[self.name])
        ]

    def joined_ref(self) -> StreamRef:
        """A zip's internal link, from its join to its calls."""
        keys = self.ctx.keys
        return StreamRef(
            keys.stream(self.name, JOINED),
            keys.link(self.name, JOINED),
            keys.ends(self.name, JOINED),
            0,
            keys.wake(self.name, JOINED),
            self.ctx.topology.joined[self.name].capacity,
        )

    # -- entries in hand -----------------------------------------------------------

    def hold(self, entry: Entry) -> None:
        """``entry`` is being worked on: keep it from being taken over."""
        self.held.setdefault(entry.stream, set()).add(entry.id)

    def release(self, entry: Entry) -> None:
        """``entry`` was handed on (or given up)."""
        held = self.held.get(entry.stream)
        if held is not None:
            held.discard(entry.id)

    # -- running -------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the node until it is finished or the worker leaves; then write end markers.

        Raises :class:`~pipelines.PipelineError` when an item fails with
        ``on_error: raise``, :class:`RunGone` when the run ended meanwhile.
        """
        ctx = self.ctx
        keys = ctx.keys
        registered = await ctx.redis.register(
            keys=[keys.meta, keys.replicas(self.name), keys.stats(self.name)],
            args=[self.consumer, ctx.heartbeat, now_ms()],
        )
        if not registered:
            raise RunGone(ctx.run_id)
        await ctx.emit("node_started", self.name, replica=self.consumer)
        loops: list[StreamLoop]
        if ctx.topology.is_zip(self.name):
            width = len(ctx.topology.inputs[self.name])
            loops = [
                JoinLoop(self, self.refs()),
                CallLoop(self, self.joined_ref(), decode_joined(ctx.codec, width)),
            ]
        else:
            (ref,) = self.refs()
            loops = [CallLoop(self, ref, decode_batch(ctx.codec))]
        keeper = asyncio.ensure_future(
            keep_alive(
                ctx.redis, ctx.clock, ctx.transport.reclaim_after / 3, self.consumer, self.held
            )
        )
        try:
            async with asyncio.TaskGroup() as tg:
                for loop in loops:
                    tg.create_task(loop.run(), name=f"pipelines:{self.consumer}")
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        await self.write_end()

    async def write_end(self) -> None:
        """This replica writes nothing more: an end marker on every output link."""
        ctx = self.ctx
        streams = [out.stream for out in self.outputs if out.kind != "collect"]
        await ctx.redis.end(
            keys=[ctx.keys.meta, ctx.keys.replicas(self.name), *streams],
            args=[self.consumer, f"-{ctx.heartbeat}"],
        )
