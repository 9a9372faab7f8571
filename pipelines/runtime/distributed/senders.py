"""Sources of a distributed run: they run where the run starts, and send in batches.

A source node runs in the coordinator with the engine's own source code
(every shape of source, the stop protocol of a drain), writing into a local
link per output; a :class:`Sender` per link takes up to ``batch_size`` items
from it, waiting up to ``linger`` seconds (of its clock) for a batch to fill,
numbers them (0, 1, 2... per link: a fanned-out source gives each branch the
same numbers) and adds them to the link's stream with ``ADD``. While the
stream is at capacity the sender waits, its local link fills, and the source
waits in turn: backpressure from the workers all the way up. A batch carries
its number, so a call retried after a lost reply never adds it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ...plan import Plan
from ..events import EventBus
from ..link import Link
from ..node import Node
from ..policy import handle_failure
from ..processor import Processor
from ..stall import Board
from .runctx import RunContext, RunGone
from .seqs import Seqs

__all__ = ["Sender", "build_sources"]


class Sender:
    """Moves one local link of a source into its stream, in numbered batches."""

    def __init__(
        self,
        ctx: RunContext,
        node: Node,
        local: Link,
        stream: str,
        counters: str,
        capacity: int,
        head: int | None,
        wake: str = "",
    ) -> None:
        self.ctx = ctx
        self.node = node
        self.local = local
        self.stream = stream
        self.counters = counters
        self.capacity = capacity
        self.wake = wake
        self.prefix: tuple[int, ...] = () if head is None else (head,)
        self.producer = ctx.consumer(node.name)
        self.next_seq = 0
        self.batches = 0
        self.sent = 0
        #: set when the run ends at once: the sender stops even if a cancellation
        #: were lost inside the Redis client
        self.halted = False

    async def run(self) -> None:
        """Send until the local link has ended and is empty."""
        local = self.local
        buf = local.buf
        size = self.ctx.transport.batch_size
        if self.capacity > 0:
            size = min(size, self.capacity)  # a batch never exceeds its link's capacity
        while not self.halted:
            if not buf:
                if local.closed:
                    return
                await local.wait_items()
                continue
            if len(buf) < size and not local.closed:
                await self._linger(size)
            items = [buf.popleft() for _ in range(min(size, len(buf)))]
            local.wake_all_putters()
            await self.send(items)

    async def _linger(self, size: int) -> None:
        """Wait up to ``linger`` for the batch to fill (or the link to end)."""
        clock = self.ctx.clock
        deadline = clock.monotonic() + self.ctx.transport.linger
        local = self.local
        while len(local.buf) < size and not local.closed:
            left = deadline - clock.monotonic()
            if left <= 0:
                return
            getter = asyncio.get_running_loop().create_future()
            local.getters.append(getter)
            timer = asyncio.ensure_future(clock.sleep(left))
            try:
                await asyncio.wait({getter, timer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer
                if not getter.done():
                    getter.cancel()
                with contextlib.suppress(ValueError):
                    local.getters.remove(getter)

    async def send(self, items: list[Any]) -> None:
        """Number and add ``items``; an item that cannot be sent fails the source's way."""
        ctx = self.ctx
        seqs = Seqs(self.prefix, self.next_seq, len(items))
        self.next_seq += len(items)
        blobs, failures = ctx.codec.encode(items)
        for index, exc in failures.items():
            await handle_failure(self.node, items[index], exc)
        for indices, blob in blobs:
            await self._add(seqs.select(indices).encode(), len(indices), blob)

    async def _add(self, seqs: str, count: int, blob: bytes) -> None:
        ctx = self.ctx
        number = self.batches
        self.batches += 1
        keys = [ctx.keys.meta, self.stream, self.counters]
        args: list[Any] = [self.capacity, self.producer, number, count, seqs, blob]
        while not self.halted:
            status = await ctx.redis.add(keys=keys, args=args)
            if status in (b"O", b"D"):
                self.sent += count
                return
            if status == b"F":  # backpressure: wait until the consumer frees space
                await ctx.redis.wait_space(self.wake)
                continue
            raise RunGone(ctx.run_id)


def build_sources(
    ctx: RunContext, plan: Plan, env_vars: dict[str, Any], events: EventBus
) -> list[tuple[Node, list[Sender]]]:
    """The run's source nodes, each with a local link and a :class:`Sender` per output."""
    board = Board(alive=2**62)  # sources never wait on each other: no stall to find here
    keys = ctx.keys
    topology = ctx.topology
    size = ctx.transport.batch_size
    out: list[tuple[Node, list[Sender]]] = []
    for name, spec in plan.nodes.items():
        if not spec.is_source:
            continue
        node = Node(spec, env_vars, events)
        senders: list[Sender] = []
        targets = list(topology.targets[name])
        dead_target = topology.dead[name]
        locals_: list[Link] = []
        for target in [*targets, *([dead_target] if dead_target is not None else [])]:
            link = target.link
            local = Link(f"{name}->{link.consumer} (to Redis)", size)
            locals_.append(local)
            senders.append(
                Sender(
                    ctx,
                    node,
                    local,
                    keys.stream(link.consumer, link.index),
                    keys.link(link.consumer, link.index),
                    link.capacity,
                    target.head,
                    keys.wake(link.consumer, link.index),
                )
            )
        dead = locals_[-1] if dead_target is not None else None
        node.wire([], locals_[: len(targets)], dead, board)
        Processor(node)
        out.append((node, senders))
    return out
