"""Calling an operator node's function on what its operator assembled.

An operator (batch, window, reduce, join, or a plain keyed or rate-limited
node) turns input items into *units*: a list, a :class:`Window`, a ``(key,
value)`` pair, a ``(left, right)`` pair, or the item itself. :class:`Calls`
calls the node's function on each unit (with its retries, timeout, rate and
``on_error``) and sends the results on.

With ``concurrency: 1`` a unit is called inline by the operator's own loop.
With ``concurrency: N`` a pool of up to N long-lived workers calls them:
units without a key go to whichever worker is free (a new worker starts
when a unit is queued while every started one is busy); units with a key
go to the worker of lane ``hash(key) % N`` (started with its lane's first
unit), so one key's units are called in order by one worker while other
keys run in parallel. With ``ordered: true`` (the
default) results leave in the order the units were made. Memory stays
bounded: a worker's queue holds at most :data:`LANE_CAPACITY` units, and
the reorder buffer at most ``N * (LANE_CAPACITY + 2)`` results.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..policy import handle_failure
from ..signals import Escalated, is_failure
from .emit import Emitter

if TYPE_CHECKING:
    from ..node import Node

__all__ = ["LANE_CAPACITY", "NO_KEY", "Calls", "PoolCalls", "SerialCalls"]

#: Units queued per worker (per key lane) at most before the operator waits.
LANE_CAPACITY = 8

#: The key of a unit that may go to any worker.
NO_KEY: Any = object()

_SKIP: Any = object()


class Calls:
    """Calls the function on units and sends the results; the serial and pool forms share this.

    ``batch``: the function returns an iterable of results (a batch node);
    ``many``: a generator function, whose results were gathered in a list;
    otherwise one result per call. ``held`` is how many input items the
    units queued or being called stand for: lost if the run is cancelled, so
    the operator counts them as dropped then.
    """

    #: ``submit(unit, held, key)``: call the function on ``unit`` (standing for
    #: ``held`` input items, routed by ``key`` or :data:`NO_KEY`), now or by a worker.
    submit: Callable[[Any, int, Any], Awaitable[None]]

    def __init__(
        self, node: Node, invoke: Callable[[Any], Awaitable[Any]], *, batch: bool, many: bool
    ) -> None:
        self.node = node
        node.calls = 0  # a call is a unit, not an item: sampled busy time counts these
        self.invoke = invoke
        self.batch = batch
        self.many = many
        self.emitter = Emitter(node)
        self.held = 0

    async def run(self, feed: Callable[[], Awaitable[None]]) -> None:
        """Run the operator's loop ``feed`` (which submits units) and every call it makes."""
        raise NotImplementedError

    async def call(self, unit: Any, held: int) -> Any:
        """One call, its failure handled per ``on_error``; :data:`_SKIP` when it failed."""
        self.node.calls += 1  # type: ignore[operator]
        try:
            # node.invoke: the plain invoke, or a sampling wrapper for one call
            result = await (self.node.invoke or self.invoke)(unit)
        except BaseException as exc:
            if not is_failure(exc):
                raise
            self.held -= held
            await self.failed(unit, held, exc)
            return _SKIP
        self.held -= held
        return result

    async def failed(self, unit: Any, held: int, exc: BaseException) -> None:
        """A call failed for good: ``on_error`` decides (a batch counts its items as failed)."""
        if self.batch and held > 1:
            self.node.stats.failed += held - 1
        await handle_failure(self.node, unit, exc)

    async def deliver(self, result: Any) -> None:
        """Send what one call returned."""
        if result is _SKIP:
            return
        if self.batch:
            if type(result) is not list:
                result = [] if result is None else list(result)
            await self.emitter.many(result)
        elif self.many:
            await self.emitter.many(result)
        else:
            await self.emitter.one(result)


class SerialCalls(Calls):
    """``concurrency: 1``: the operator's loop calls each unit itself, and sends its results."""

    def __init__(
        self, node: Node, invoke: Callable[[Any], Awaitable[Any]], *, batch: bool, many: bool
    ) -> None:
        super().__init__(node, invoke, batch=batch, many=many)
        self.submit = self._submit_batch if batch else self._submit

    async def _submit(self, unit: Any, held: int, key: Any) -> None:
        self.held += held
        await self.deliver(await self.call(unit, held))

    async def _submit_batch(self, unit: Any, held: int, key: Any) -> None:
        # The batch fast path: one call per list, its results sent in bulk.
        self.held = held
        self.node.calls += 1  # type: ignore[operator]
        try:
            result = await (self.node.invoke or self.invoke)(unit)
        except BaseException as exc:
            if not is_failure(exc):
                raise
            self.held = 0
            await self.failed(unit, held, exc)
            return
        self.held = 0
        if type(result) is not list:
            result = [] if result is None else list(result)
        await self.emitter.many(result)

    async def run(self, feed: Callable[[], Awaitable[None]]) -> None:
        """Just the loop: every call happens inside it."""
        self.node.stats.peak_in_flight = 1
        await feed()


class PoolCalls(Calls):
    """``concurrency: N``: N workers, routed by key, results in order if ``ordered``."""

    def __init__(
        self,
        node: Node,
        invoke: Callable[[Any], Awaitable[Any]],
        *,
        batch: bool,
        many: bool,
        keyed: bool,
    ) -> None:
        super().__init__(node, invoke, batch=batch, many=many)
        opts = node.spec.options
        self.size = opts.concurrency
        self.keyed = keyed
        self.ordered = opts.ordered
        lanes = self.size if keyed else 1
        self.lanes: list[deque[tuple[int, Any, int]]] = [deque() for _ in range(lanes)]
        self.lane_waiters: list[list[asyncio.Future[None]]] = [[] for _ in range(lanes)]
        # One shared queue (no key) holds up to 2 units per worker.
        self.capacity = LANE_CAPACITY if keyed else 2 * self.size
        self.window = self.size * (LANE_CAPACITY + 2)
        self.space_waiters: list[asyncio.Future[None]] = []
        self.closed = False
        self.made = 0  # sequence number of the next unit
        self.next = 0  # sequence number of the next result to send (ordered)
        self.pending: dict[int, Any] = {}
        self.emitting = False
        self.in_flight = 0
        self.running = 0  # workers started and not finished
        self.busy = 0  # unkeyed workers holding a unit
        self.started: list[bool] = [False] * lanes  # keyed: a worker per lane, on demand
        self.workers = 0  # unkeyed: workers started
        self.group: asyncio.TaskGroup | None = None
        self.parked: asyncio.Future[None] | None = None
        self.submit = self._submit

    async def _submit(self, unit: Any, held: int, key: Any) -> None:
        """Queue ``unit`` for its worker, waiting while that queue (or the order window) is full."""
        index = hash(key) % self.size if self.keyed and key is not NO_KEY else 0
        lane = self.lanes[index]
        while len(lane) >= self.capacity or (self.ordered and self.made - self.next >= self.window):
            await self._wait(self.space_waiters, "waits for a worker to take a call")
        lane.append((self.made, unit, held))
        self.made += 1
        self.held += held
        if self.keyed:
            if not self.started[index]:
                self.started[index] = True
                self._spawn(index)
        elif self.workers < self.size and len(lane) > self.workers - self.busy:
            self.workers += 1  # every started worker is busy: one more
            self._spawn(0)
        self.node.board.wake_all(self.lane_waiters[index])

    async def run(self, feed: Callable[[], Awaitable[None]]) -> None:
        """The workers run while ``feed`` does; then they finish what is queued."""
        node = self.node
        board = node.board
        try:
            async with asyncio.TaskGroup() as tg:
                self.group = tg
                await feed()
                self.closed = True
                for waiters in self.lane_waiters:
                    node.board.wake_all(waiters)
                if self.running:
                    # The node now waits for its workers (a stall board actor must say so).
                    self.parked = asyncio.get_running_loop().create_future()
                    board.wait(self.parked, f"{node.name}: waits for its workers")
        finally:
            self.group = None

    def _spawn(self, lane: int) -> None:
        """Start a worker on ``lane`` (an actor of the stall board at once)."""
        assert self.group is not None
        self.node.board.join(1)
        self.running += 1
        name = f"pipelines:{self.node.name}:worker{self.running - 1}"
        self.group.create_task(self._worker(lane), name=name)

    async def _worker(self, index: int) -> None:
        board = self.node.board
        try:
            await self._work(index)
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
            self.parked.set_result(None)
        board.leave()

    async def _work(self, index: int) -> None:
        lane = self.lanes[index]
        waiters = self.lane_waiters[index]
        stats = self.node.stats
        while True:
            while not lane:
                if self.closed:
                    return
                await self._wait(waiters, "a worker waits for a call")
            seq, unit, held = lane.popleft()
            if self.space_waiters:
                self.node.board.wake_all(self.space_waiters)
            self.busy += 1
            self.in_flight += 1
            if self.in_flight > stats.peak_in_flight:
                stats.peak_in_flight = self.in_flight
            try:
                try:
                    result = await self.call(unit, held)
                finally:
                    self.in_flight -= 1
                if not self.ordered:
                    await self.deliver(result)
                    continue
                self.pending[seq] = result
                if not self.emitting:
                    await self._send_ready()
            finally:
                self.busy -= 1

    async def _send_ready(self) -> None:
        """Send the results that are next in order (one worker at a time)."""
        self.emitting = True
        try:
            while self.next in self.pending:
                result = self.pending.pop(self.next)
                self.next += 1
                if self.space_waiters:
                    self.node.board.wake_all(self.space_waiters)
                await self.deliver(result)
        finally:
            self.emitting = False

    async def _wait(self, waiters: list[asyncio.Future[None]], what: str) -> None:
        await self.node.board.park(waiters, f"{self.node.name}: {what}")
