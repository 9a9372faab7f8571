"""``concurrency: N``: a pool of N long-lived workers instead of a task per item.

Each worker takes an item, calls the function and emits the result. Workers
start on demand: the pool begins with one, and a worker that takes an item
while every started worker is busy starts another, up to N; so an idle node
with a high ``concurrency`` costs one task. With ``ordered: true`` (the
default) results wait in a reorder buffer until the earlier ones have left,
and a worker does not take a new item while the buffer holds ``2 * N``
results (the window), so memory stays bounded.

Every wait goes through the run's stall board (:mod:`.stall`), so a graph in
which all workers wait on each other raises ``GraphStalled`` instead of
hanging.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..spec.calling import Shape
from .hooks import node_invoke
from .policy import handle_failure
from .signals import Escalated, is_failure
from .taking import END, send, take_one, take_zip

if TYPE_CHECKING:
    from .node import Node

__all__ = ["WorkerPool"]

#: A failed item that was skipped or dead-lettered: nothing to emit.
_SKIP: Any = object()


class WorkerPool:
    """The workers of one node and their shared state (order, window, turns)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        opts = node.spec.options
        self.many = node.spec.signature.shape in (Shape.ASYNC_GEN, Shape.SYNC_GEN)
        self.invoke = node_invoke(node, self.many)
        self.zipped = len(node.inputs) > 1
        self.ordered = opts.ordered
        self.size = opts.concurrency
        self.window = 2 * opts.concurrency  # results waiting for an earlier one, at most
        self.pending: dict[int, Any] = {}  # results by sequence number, ordered mode
        self.taken = 0  # sequence number of the next item taken
        self.next = 0  # sequence number of the next result to emit
        self.emitting = False  # a worker is emitting ready results now
        self.in_flight = 0
        self.space_waiters: list[asyncio.Future[None]] = []
        self.taking = False  # a worker of a zip is taking a tuple now
        self.turn_waiters: list[asyncio.Future[None]] = []
        self.running = 0  # workers started and not finished
        self.started = 0
        self.busy = 0  # workers holding an item (from its take to its emit)
        self.parked: asyncio.Future[None] | None = None
        self.group: asyncio.TaskGroup | None = None

    async def run(self) -> None:
        """Run the workers until the input ends; the first failure cancels the others."""
        node = self.node
        board = node.board
        loop = asyncio.get_running_loop()
        # While its workers run, the node waits for them (a stall with all
        # workers waiting must still be seen); the last worker to end wakes it.
        node.use_invoke(self.invoke, None)  # workers publish their counters at once
        self.parked = parked = loop.create_future()
        try:
            async with asyncio.TaskGroup() as tg:
                self.group = tg
                self._spawn()
                board.wait(parked, f"{node.name}: waits for its workers")
        finally:
            self.group = None
            board.done(parked)

    def _spawn(self) -> None:
        """Start one more worker (it counts as an actor of the stall board at once)."""
        assert self.group is not None
        self.node.board.join(1)
        self.running += 1
        self.started += 1
        name = f"pipelines:{self.node.name}:worker{self.started - 1}"
        self.group.create_task(self._worker(), name=name)

    async def _worker(self) -> None:
        board = self.node.board
        try:
            await self._work()
        except (KeyboardInterrupt, SystemExit) as exc:
            # Raised out of a task, these would leave the event loop at once;
            # the run stops cleanly first and then raises them as themselves.
            board.disable()
            raise Escalated(self.node.name, exc) from exc
        except BaseException:
            board.disable()
            raise
        self.running -= 1
        if not self.running and self.parked is not None:
            board.done(self.parked)
        board.leave()

    async def _emit(self, result: Any) -> None:
        if result is _SKIP:
            return
        node = self.node
        if self.many:
            for value in result:
                await send(node, value)
            node.stats.emitted += len(result)
        else:
            await send(node, result)
            node.stats.emitted += 1

    async def _wait(self, waiters: list[asyncio.Future[None]], what: str) -> None:
        await self.node.board.park(waiters, f"{self.node.name}: {what}")

    async def _take_turn(self) -> Any:
        """A zip takes several items per tuple, so its workers take in turns.

        (Not an asyncio.Lock: the stall board must see who waits for a turn.)
        """
        while self.taking:
            await self._wait(self.turn_waiters, "a worker waits for its turn to take")
        self.taking = True
        try:
            return await take_zip(self.node)
        finally:
            self.taking = False
            self.node.board.wake_all(self.turn_waiters)

    async def _work(self) -> None:
        node = self.node
        stats = node.stats
        plain = self.invoke
        while True:
            while self.ordered and self.taken - self.next >= self.window:
                await self._wait(self.space_waiters, "a worker waits for earlier results to leave")
            item = await (self._take_turn() if self.zipped else take_one(node))
            if item is END:
                return
            self.busy += 1
            if self.busy == self.started and self.started < self.size:
                self._spawn()  # everybody is busy: the next item gets a new worker
            seq = self.taken
            self.taken = seq + 1
            stats.received += 1
            self.in_flight += 1
            if self.in_flight > stats.peak_in_flight:
                stats.peak_in_flight = self.in_flight
            try:
                # node.invoke: the plain invoke, or a sampling wrapper for one call
                result = await (node.invoke or plain)(item)
            except BaseException as exc:
                if not is_failure(exc):
                    raise
                await handle_failure(node, item, exc)
                result = _SKIP
            finally:
                self.in_flight -= 1
            try:
                if not self.ordered:
                    await self._emit(result)
                    continue
                self.pending[seq] = result
                if self.emitting:
                    continue  # the worker emitting now will reach this result
                await self._emit_ready()
            finally:
                self.busy -= 1

    async def _emit_ready(self) -> None:
        """Emit the results that are next in order, waking workers held by the window."""
        self.emitting = True
        try:
            while self.next in self.pending:
                ready = self.pending.pop(self.next)
                self.next += 1
                if self.space_waiters:
                    self.node.board.wake_all(self.space_waiters)
                await self._emit(ready)
        finally:
            self.emitting = False
