"""The runtime of one node: a :class:`Processor`.

A Processor takes items from its input link(s), calls the node's function
and puts the results to the input links of the nodes it feeds. Its loops are
written for speed (see docs/performance.md): with ``concurrency: 1`` there is
no task, helper coroutine or list per item, and it only touches a link's
waiters when the other side is waiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .calling import Shape
from .errors import PipelineError, short_repr
from .link import Link
from .stall import NO_BOARD, Board
from .stats import NodeStats

if TYPE_CHECKING:
    from .events import EventBus
    from .spec import NodeSpec

__all__ = ["DeadLetter", "OutputQueue", "Processor"]

log = logging.getLogger("pipelines")

_END = object()  # returned by a take when the input has ended
_SKIP = object()  # a failed item that was skipped or dead-lettered
_NO_ITEM = object()  # a source failed: there is no item to report


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What a dead-letter node receives for each failed item.

    ``node`` is the node that failed, ``item`` the item it was given (``None``
    for a source), ``error`` the exception and ``attempts`` the calls made.
    """

    node: str
    item: Any
    error: BaseException
    attempts: int


class _Failure(Exception):
    """A call failed after its retries; carries the attempts count."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        super().__init__(error)
        self.error = error
        self.attempts = attempts


class _StopSource(BaseException):
    """Raised inside an upstream-style source once a drain was requested.

    A BaseException so that a source's ``except Exception`` does not swallow
    it; it is raised only after the item being put has been delivered.
    """


class _Collector:
    """Stands in for a link where a ``collect: true`` node keeps its results."""

    __slots__ = ("buf", "capacity", "getters", "mark")

    def __init__(self, values: list[Any]) -> None:
        self.buf = values
        self.capacity = self.mark = 2**62  # never full: the fast path always applies
        self.getters: list[Any] = []

    async def reserve(self) -> int:
        return self.mark


class OutputQueue:
    """What an upstream-style source receives as ``output_q``.

    ``await output_q.put(item)`` sends the item to every output of the node,
    waiting while a link is full (backpressure).
    """

    __slots__ = ("_processor",)

    def __init__(self, processor: Processor) -> None:
        self._processor = processor

    async def put(self, item: Any) -> None:
        """Send ``item`` to every output; raises nothing but cancellation."""
        p = self._processor
        if p._stop_requested:
            raise _StopSource
        p._holding = True
        try:
            await p._send(item)
        finally:
            p._holding = False
        p.stats.emitted += 1
        if p._stop_requested:
            raise _StopSource

    def put_nowait(self, item: Any) -> None:
        """Send ``item`` without waiting; raises ``asyncio.QueueFull`` if a link is full."""
        p = self._processor
        for out in p._outs:
            if len(out.buf) >= out.capacity:
                raise asyncio.QueueFull
        for out in p._outs:
            if len(out.buf) >= out.mark:  # the put's slow path, minus the wait
                out.note_put()
            out.buf.append(item)
            if out.getters:
                out.wake_getters()
        p.stats.emitted += 1

    def qsize(self) -> int:
        """The largest depth among the output links."""
        return max((len(link.buf) for link in self._processor._outs), default=0)


async def _iterate(values: Any) -> Any:
    """An iterable source (a list, a range...) as an async iterator."""
    for value in values:
        yield value


def _call_sync_gen(fn: Callable[..., Any], item: Any, kwargs: dict[str, Any]) -> list[Any]:
    return list(fn(item, **kwargs))


def _call_sync(fn: Callable[..., Any], item: Any, kwargs: dict[str, Any]) -> Any:
    return fn(item, **kwargs)


class Processor:
    """One node of a running graph.

    Public attributes: ``name``, ``env_vars`` (the Plumber's env_vars),
    ``stats`` (:class:`NodeStats`, live), ``kind`` (``source``,
    ``transform`` or ``sink``), ``spec`` (the validated node spec) and
    ``uuid``. Upstream-style functions receive their Processor as ``self``;
    plain functions get it through a keyword parameter named ``processor``.
    """

    def __init__(self, spec: NodeSpec, env_vars: dict[str, Any], events: EventBus) -> None:
        self.name = spec.name
        self.spec = spec
        self.env_vars = env_vars
        self.stats = NodeStats()
        self._uuid: str | None = None
        self._events = events
        self._inputs: list[Link] = []  # zip: one link per source in order; else one link
        self._outs: tuple[Any, ...] = ()  # input links of the nodes fed, plus a collector
        self._dead_letter: Link | None = None
        self.collected: list[Any] | None = [] if spec.options.collect else None
        self._executor: concurrent.futures.Executor | None = None
        self._inflight: set[concurrent.futures.Future[Any]] = set()
        self._task: asyncio.Task[None] | None = None
        self._board: Board = NO_BOARD
        self._stop_requested = False
        self._started = False
        self._holding = False
        self._stop_cancels = 0

    # -- public, read-only views ---------------------------------------------

    @property
    def kind(self) -> str:
        """``source``, ``transform`` or ``sink``."""
        return self.spec.kind

    @property
    def uuid(self) -> str:
        """A unique id of this Processor (upstream attribute), made on first use."""
        if self._uuid is None:
            self._uuid = str(uuid.uuid4())
        return self._uuid

    @property
    def processor_coro(self) -> Any:
        """The node's function (upstream name)."""
        return self.spec.coro

    @property
    def stop_requested(self) -> bool:
        """True once a graceful drain (``stop(drain=True)``) asked this source to stop.

        A source that keeps a resource up for the nodes downstream can read it
        when it is cancelled, to tell a drain (finish serving what is in
        flight) from a cancellation (release at once).
        """
        return self._stop_requested

    @property
    def input_links(self) -> tuple[Link, ...]:
        """The links this node takes from."""
        return tuple(self._inputs)

    @property
    def depth(self) -> int:
        """Items waiting in this node's input links now."""
        return sum(len(link.buf) for link in self._inputs)

    def __repr__(self) -> str:
        return f"<Processor {self.name} ({self.kind}, {self.spec.signature.name})>"

    def _sync_peak(self) -> NodeStats:
        """Copy the input links' peaks (kept by producers) into the stats."""
        for link in self._inputs:
            if link.peak > self.stats.peak_depth:
                self.stats.peak_depth = link.peak
        return self.stats

    # -- wiring (called by the Plumber) ----------------------------------------

    def _wire(
        self,
        outs: list[Link],
        dead_letter: Link | None,
        executor: concurrent.futures.Executor | None,
        board: Board = NO_BOARD,
    ) -> None:
        targets: list[Any] = list(outs)
        if self.collected is not None:
            targets.append(_Collector(self.collected))
        self._outs = tuple(targets)
        self._dead_letter = dead_letter
        self._executor = executor
        self._board = board

    # -- calls -----------------------------------------------------------------

    def _kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.spec.args)
        if self.spec.signature.wants_processor:
            kwargs["processor"] = self
        return kwargs

    def _submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` on this node's executor, tracking it until it ends."""
        assert self._executor is not None
        cf = self._executor.submit(fn, *args)
        self._inflight.add(cf)
        cf.add_done_callback(self._inflight.discard)
        return asyncio.wrap_future(cf)

    def _make_invoke(self, many: bool) -> Callable[[Any], Any]:
        """Build ``invoke(item) -> awaitable`` for this node's calling convention.

        For ``many`` (generator functions) the awaitable gives a list of results.
        """
        spec = self.spec
        fn = spec.coro
        sig = spec.signature
        zipped = len(self._inputs) > 1
        shape = sig.shape
        kwargs = self._kwargs()
        if sig.upstream:
            # Upstream convention: coro(processor, q_elt, **args), q_elt a tuple.
            base = functools.partial(fn, self)
            if zipped:
                call: Callable[[Any], Any] = functools.partial(base, **kwargs) if kwargs else base
            else:

                def call(item: Any) -> Any:
                    return base((item,), **kwargs)

        else:
            call = functools.partial(fn, **kwargs) if kwargs else fn

        if shape is Shape.SYNC:
            if sig.upstream:
                return lambda item: self._submit(call, item)
            return lambda item: self._submit(_call_sync, fn, item, kwargs)
        if shape is Shape.SYNC_GEN:
            if sig.upstream:
                return lambda item: self._submit(lambda i: list(call(i)), item)
            return lambda item: self._submit(_call_sync_gen, fn, item, kwargs)
        if shape is Shape.ASYNC_GEN and many:

            async def collect(item: Any) -> list[Any]:
                async with contextlib.aclosing(call(item)) as agen:
                    return [value async for value in agen]

            return collect
        return call

    def _with_policy(self, invoke: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Wrap ``invoke`` with the node's retries and timeout, if any."""
        opts = self.spec.options
        retries, timeout = opts.retries, opts.timeout
        if not retries and timeout is None:
            return invoke
        delay, backoff, stats = opts.retry_delay, opts.backoff, self.stats

        async def invoke_with_policy(item: Any) -> Any:
            attempt = 1
            while True:
                try:
                    if timeout is None:
                        return await invoke(item)
                    async with asyncio.timeout(timeout):
                        return await invoke(item)
                except Exception as exc:
                    if attempt > retries:
                        raise _Failure(exc, attempt) from exc
                    stats.retried += 1
                    pause = delay * backoff ** (attempt - 1)
                    attempt += 1
                    if pause:
                        await asyncio.sleep(pause)

        return invoke_with_policy

    async def _failed(self, item: Any, exc: BaseException) -> None:
        """Handle a failed call per ``on_error``: raise, skip or dead-letter."""
        attempts = 1
        if isinstance(exc, _Failure):
            exc, attempts = exc.error, exc.attempts
        self.stats.failed += 1
        on_error = self.spec.options.on_error
        if item is _NO_ITEM:
            item, shown = None, None
        else:
            shown = short_repr(item)
        if self._events:
            self._events.emit(
                "node_failed", self.name, error=exc, item=shown, attempts=attempts, action=on_error
            )
        if on_error == "raise":
            raise PipelineError(self.name, shown, exc, attempts) from exc
        log.warning(
            "pipelines: node %r failed%s (%s: %s); %s",
            self.name,
            f" on item {shown}" if shown is not None else "",
            type(exc).__name__,
            exc,
            "skipped" if on_error == "skip" else f"sent to {on_error!r}",
        )
        if self._dead_letter is not None:
            await self._dead_letter.put(DeadLetter(self.name, item, exc, attempts))

    async def _send(self, item: Any) -> None:
        """Put ``item`` to every output, waiting while one is full."""
        for out in self._outs:
            ob = out.buf
            if len(ob) >= out.mark:
                await out.reserve()
            ob.append(item)
            if out.getters:
                out.wake_getters()

    # -- taking ----------------------------------------------------------------

    async def _take_zip(self) -> Any:
        """Take one item from each input link, in order; ``_END`` when one has ended."""
        values = []
        for link in self._inputs:
            buf = link.buf
            while not buf:
                if link.closed:
                    self.stats.dropped += len(values)
                    return _END
                await link.wait_items()
            values.append(buf.popleft())
            if link.putters:
                link.wake_putters()
        return tuple(values)

    async def _take_one(self) -> Any:
        """Take one item from the single input link; ``_END`` when it has ended."""
        link = self._inputs[0]
        buf = link.buf
        while not buf:
            if link.closed:
                return _END
            await link.wait_items()
        item = buf.popleft()
        if link.putters:
            link.wake_putters()
        return item

    async def _drain_inputs(self) -> None:
        """Discard what is left on the inputs until they end, so no producer blocks.

        Waits on all links at once: a producer blocked on one full link may be
        the one that would close another.
        """
        links = list(self._inputs)
        dropped = 0
        loop = asyncio.get_running_loop()
        while True:
            for link in links:
                if link.buf:
                    dropped += len(link.buf)
                    link.buf.clear()
                    if link.putters:
                        link.wake_all_putters()
            links = [link for link in links if not link.closed]
            if not links:
                break
            fut = loop.create_future()
            for link in links:
                link.getters.append(fut)
            try:
                self._board.wait(
                    fut, f"{self.name}: zip ended, drains {', '.join(link.name for link in links)}"
                )
                await fut
            finally:
                self._board.done(fut)
                for link in links:
                    with contextlib.suppress(ValueError):
                        link.getters.remove(fut)
        if dropped:
            self.stats.dropped += dropped
            log.info(
                "pipelines: node %r: zip ended; dropped %d items left on its other inputs",
                self.name,
                dropped,
            )

    # -- lifecycle ---------------------------------------------------------------

    async def _run(self) -> None:
        """Run the node to completion, then end its outputs.

        The node is one actor of the run's stall board from its first step to
        its end (its workers take its place while they run).
        """
        self._started = True
        try:
            await self._run_node()
        except BaseException:
            self._board.disable()
            raise
        self._board.leave()

    async def _run_node(self) -> None:
        stats = self.stats
        stats.started = time.monotonic()
        if self._events:
            self._events.emit("node_started", self.name)
        opts = self.spec.options
        if self.spec.is_source:
            await self._run_source()
        elif opts.concurrency == 1:
            many = self.spec.signature.shape is Shape.SYNC_GEN or (
                self.spec.signature.shape is Shape.ASYNC_GEN
                and (opts.retries or opts.timeout is not None)
            )
            stats.peak_in_flight = 1
            if self.spec.signature.shape is Shape.ASYNC_GEN and not many:
                await self._loop_stream()
            else:
                await self._loop_serial(many)
            if len(self._inputs) > 1:
                await self._drain_inputs()
        else:
            await self._run_workers()
            if len(self._inputs) > 1:
                await self._drain_inputs()
        self._close_outputs()
        self._sync_peak()
        stats.finished = time.monotonic()
        if self._events:
            self._events.emit("node_finished", self.name, stats=stats.copy())

    def _close_outputs(self) -> None:
        for link in self._outs:
            if isinstance(link, Link):
                link.close_one()
        if self._dead_letter is not None:
            self._dead_letter.close_one()

    # The loops below repeat the same take / call / put steps on purpose: each
    # is specialised for one shape (one output, a sink, a zip of two, the
    # general case) so that the per-item path carries no branch, helper call
    # or attribute load it does not need. Measured in bench/RESULTS.md; keep
    # them in step when changing one.

    async def _loop_serial(self, many: bool) -> None:
        """``concurrency: 1``: pick the tightest loop for this node's shape."""
        if len(self._inputs) == 2 and not many:
            await self._loop_zip2()
        elif len(self._inputs) > 1:
            await self._loop_general(many, zipped=True)
        elif not self._outs and not many:
            await self._loop_sink()
        elif len(self._outs) == 1 and not many:
            await self._loop_one()
        else:
            await self._loop_general(many, zipped=False)

    async def _loop_one(self) -> None:
        """The hot loop: one input link, one output, one result per call.

        Everything is inline. One local counter per item: every item taken
        either succeeds (``done``) or fails (counted on the failure path), so
        ``received`` is derived. Counters are published whenever the loop
        waits or wakes a neighbour, so an idle or slow node's stats are
        current while a busy one pays nothing per item.
        """
        invoke = self._with_policy(self._make_invoke(False))
        failed = self._failed
        stats = self.stats
        link = self._inputs[0]
        buf = link.buf
        popleft = buf.popleft
        out = self._outs[0]
        ob = out.buf
        append = ob.append
        mark = 0  # take out.reserve() when the output depth reaches this
        done = 0
        try:
            while True:
                if not buf:
                    stats.received += done
                    stats.emitted += done
                    done = 0
                    if link.closed:
                        break
                    await link.wait_items()
                    continue
                item = popleft()
                if link.putters:
                    link.wake_putters()
                try:
                    result = await invoke(item)
                except Exception as exc:
                    stats.received += 1
                    await failed(item, exc)
                    continue
                except BaseException:
                    stats.received += 1  # taken, then cancelled while in flight
                    raise
                if len(ob) >= mark:
                    stats.received += done
                    stats.emitted += done
                    done = 0
                    mark = await out.reserve()
                append(result)
                done += 1
                if out.getters:
                    out.wake_getters()
                    stats.received += done
                    stats.emitted += done
                    done = 0
        finally:
            stats.received += done
            stats.emitted += done

    async def _loop_sink(self) -> None:
        """A sink: one input link, results discarded (counted like :meth:`_loop_one`)."""
        invoke = self._with_policy(self._make_invoke(False))
        failed = self._failed
        stats = self.stats
        link = self._inputs[0]
        buf = link.buf
        popleft = buf.popleft
        done = 0
        try:
            while True:
                if not buf:
                    stats.received += done
                    stats.emitted += done
                    done = 0
                    if link.closed:
                        break
                    await link.wait_items()
                    continue
                item = popleft()
                if link.putters:
                    link.wake_putters()
                    stats.received += done
                    stats.emitted += done
                    done = 0
                try:
                    await invoke(item)
                except Exception as exc:
                    stats.received += 1
                    await failed(item, exc)
                    continue
                except BaseException:
                    stats.received += 1  # taken, then cancelled while in flight
                    raise
                done += 1
        finally:
            stats.received += done
            stats.emitted += done

    async def _loop_zip2(self) -> None:
        """A zip of two inputs (the common case), one result per call."""
        invoke = self._with_policy(self._make_invoke(False))
        failed = self._failed
        outs = self._outs
        stats = self.stats
        link0, link1 = self._inputs
        buf0, buf1 = link0.buf, link1.buf
        pop0, pop1 = buf0.popleft, buf1.popleft
        take_zip = self._take_zip
        done = 0
        try:
            while True:
                if buf0 and buf1:
                    item = (pop0(), pop1())
                    if link0.putters or link1.putters:
                        link0.wake_putters()
                        link1.wake_putters()
                        stats.received += done
                        stats.emitted += done
                        done = 0
                else:
                    stats.received += done
                    stats.emitted += done
                    done = 0
                    item = await take_zip()
                    if item is _END:
                        break
                try:
                    result = await invoke(item)
                except Exception as exc:
                    stats.received += 1
                    await failed(item, exc)
                    continue
                except BaseException:
                    stats.received += 1  # taken, then cancelled while in flight
                    raise
                for out in outs:
                    ob = out.buf
                    if len(ob) >= out.mark:
                        await out.reserve()
                    ob.append(result)
                    if out.getters:
                        out.wake_getters()
                done += 1
        finally:
            stats.received += done
            stats.emitted += done

    async def _loop_general(self, many: bool, zipped: bool) -> None:
        """Fan-out, zip, generator functions: still inline, slightly more general."""
        invoke = self._with_policy(self._make_invoke(many))
        failed = self._failed
        outs = self._outs
        stats = self.stats
        link = self._inputs[0]
        buf = link.buf
        popleft = buf.popleft
        take_zip = self._take_zip  # a one-result zip of two has its own loop (_loop_zip2)
        received = emitted = 0
        try:
            while True:
                if zipped:
                    stats.received += received
                    stats.emitted += emitted
                    received = emitted = 0
                    item = await take_zip()
                    if item is _END:
                        break
                else:
                    if not buf:
                        stats.received += received
                        stats.emitted += emitted
                        received = emitted = 0
                        if link.closed:
                            break
                        await link.wait_items()
                        continue
                    item = popleft()
                    if link.putters:
                        link.wake_putters()
                received += 1
                try:
                    result = await invoke(item)
                except Exception as exc:
                    await failed(item, exc)
                    continue
                if many:
                    for value in result:
                        for out in outs:
                            ob = out.buf
                            if len(ob) >= out.mark:
                                await out.reserve()
                            ob.append(value)
                            if out.getters:
                                out.wake_getters()
                    emitted += len(result)
                    continue
                for out in outs:
                    ob = out.buf
                    if len(ob) >= out.mark:
                        await out.reserve()
                    ob.append(result)
                    if out.getters:
                        out.wake_getters()
                emitted += 1
        finally:
            stats.received += received
            stats.emitted += emitted

    async def _loop_stream(self) -> None:
        """One call at a time of an async generator; results flow as they are yielded."""
        invoke = self._make_invoke(False)
        stats = self.stats
        take = self._take_zip if len(self._inputs) > 1 else self._take_one
        send = self._send
        while True:
            item = await take()
            if item is _END:
                break
            stats.received += 1
            try:
                async with contextlib.aclosing(invoke(item)) as agen:
                    async for value in agen:
                        await send(value)
                        stats.emitted += 1
            except Exception as exc:
                await self._failed(item, exc)

    async def _run_workers(self) -> None:
        """``concurrency: N``: N long-lived workers, with a reorder buffer when ordered."""
        opts = self.spec.options
        shape = self.spec.signature.shape
        many = shape in (Shape.ASYNC_GEN, Shape.SYNC_GEN)
        invoke = self._with_policy(self._make_invoke(many))
        stats = self.stats
        zipped = len(self._inputs) > 1
        take = self._take_zip if zipped else self._take_one
        send = self._send
        ordered = opts.ordered
        window = 2 * opts.concurrency  # results waiting for an earlier one, at most
        pending: dict[int, Any] = {}
        state = {"taken": 0, "next": 0, "emitting": False, "in_flight": 0}
        space_waiters: list[asyncio.Future[None]] = []
        loop = asyncio.get_running_loop()

        async def emit(result: Any) -> None:
            if result is _SKIP:
                return
            if many:
                for value in result:
                    await send(value)
                stats.emitted += len(result)
            else:
                await send(result)
                stats.emitted += 1

        board = self._board
        workers = opts.concurrency
        # While its workers run, the node waits for them (a stall with all
        # workers waiting must still be seen); the last worker to end wakes it.
        parked = loop.create_future()
        board.join(workers)
        board.wait(parked, f"{self.name}: waits for its workers")

        # A zip takes several items per tuple, so its workers take in turns.
        # (Not an asyncio.Lock: the stall board must see who waits for a turn.)
        taking = False
        turn_waiters: list[asyncio.Future[None]] = []

        async def take_turn() -> Any:
            nonlocal taking
            while taking:
                fut = loop.create_future()
                turn_waiters.append(fut)
                try:
                    board.wait(fut, f"{self.name}: a worker waits for its turn to take")
                    await fut
                finally:
                    board.done(fut)
            taking = True
            try:
                return await take()
            finally:
                taking = False
                waiters = turn_waiters[:]
                turn_waiters.clear()
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(None)
                        board.done(fut)

        async def worker() -> None:
            nonlocal workers
            try:
                await work()
            except BaseException:
                board.disable()
                raise
            workers -= 1
            if not workers:
                board.done(parked)
            board.leave()

        async def work() -> None:
            while True:
                while ordered and state["taken"] - state["next"] >= window:
                    fut = loop.create_future()
                    space_waiters.append(fut)
                    try:
                        board.wait(fut, f"{self.name}: a worker waits for earlier results to leave")
                        await fut
                    finally:
                        board.done(fut)
                if zipped:
                    item = await take_turn()
                else:
                    item = await take()
                if item is _END:
                    return
                seq = state["taken"]
                state["taken"] = seq + 1
                stats.received += 1
                state["in_flight"] += 1
                if state["in_flight"] > stats.peak_in_flight:
                    stats.peak_in_flight = state["in_flight"]
                try:
                    result = await invoke(item)
                except Exception as exc:
                    await self._failed(item, exc)
                    result = _SKIP
                finally:
                    state["in_flight"] -= 1
                if not ordered:
                    await emit(result)
                    continue
                pending[seq] = result
                if state["emitting"]:
                    continue  # the worker emitting now will reach this result
                state["emitting"] = True
                try:
                    while state["next"] in pending:
                        ready = pending.pop(state["next"])
                        state["next"] += 1
                        if space_waiters:
                            waiters = space_waiters[:]
                            space_waiters.clear()
                            for fut in waiters:
                                if not fut.done():
                                    fut.set_result(None)
                                    board.done(fut)
                        await emit(ready)
                finally:
                    state["emitting"] = False

        try:
            async with asyncio.TaskGroup() as tg:
                for i in range(opts.concurrency):
                    tg.create_task(worker(), name=f"pipelines:{self.name}:worker{i}")
        finally:
            board.done(parked)

    # -- sources -----------------------------------------------------------------

    def _request_stop(self) -> None:
        """Stop this source for a drain: now if it waits for its next item, else once its item is delivered."""
        if self._stop_requested:
            return
        self._stop_requested = True
        task = self._task
        # A task that has not taken its first step cannot catch a cancel (the
        # coroutine would end before its try block); it sees the flag instead.
        if task is not None and self._started and not task.done() and not self._holding:
            self._stop_cancels += 1
            task.cancel()

    async def _run_source(self) -> None:
        try:
            try:
                if not self._stop_requested:
                    await self._source_body()
            except _StopSource:
                pass
            except Exception as exc:
                self._holding = True  # its failure record is delivered like an item
                await self._failed(_NO_ITEM, exc)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._stop_cancels or task is None:
                raise
            # Our own cancel (a drain) ends the source normally; any other
            # pending cancellation (the run being cancelled) still propagates.
            for _ in range(self._stop_cancels):
                task.uncancel()
            self._stop_cancels = 0
            if task.cancelling():
                raise

    async def _source_body(self) -> None:
        spec = self.spec
        sig = spec.signature
        fn = spec.coro
        shape = sig.shape
        kwargs = self._kwargs()
        stats = self.stats
        if sig.upstream:
            if sig.is_async:
                await fn(self, OutputQueue(self), **kwargs)
            else:
                raise TypeError(
                    "an upstream-style source (self, output_q) must be an async function"
                )
            return
        if shape in (Shape.ASYNC_GEN, Shape.ASYNC_ITERABLE, Shape.ITERABLE):
            if shape is Shape.ASYNC_GEN:
                iterator = fn(**kwargs).__aiter__()
            elif shape is Shape.ASYNC_ITERABLE:
                iterator = fn.__aiter__()
            else:
                iterator = _iterate(fn)  # data: iterated on the loop, one pump for all
            try:
                await self._pump_async(iterator)
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
            return
        if shape is Shape.SYNC_GEN:
            await self._pump_thread_gen(fn(**kwargs))
            return
        # A plain function source is called once; its return value is one item.
        if shape is Shape.COROUTINE:
            result = await self._with_policy(lambda _: fn(**kwargs))(None)
        else:
            result = await self._with_policy(
                lambda _: self._submit(functools.partial(fn, **kwargs))
            )(None)
        self._holding = True
        await self._send(result)
        stats.emitted += 1

    async def _deliver_slow(self, out: Any) -> int:
        """A source's slow path: it holds an item while it waits for space.

        A drain requested meanwhile must not interrupt it (the item would be
        lost): ``_holding`` tells :meth:`_request_stop` to let it finish; the
        pump then stops after delivering the item to every output.
        """
        self._holding = True
        try:
            return await out.reserve()
        finally:
            self._holding = False

    async def _pump_async(self, iterator: Any) -> None:
        # A pump suspends only in anext() (waiting for its next item: a drain
        # cancels it there) or in _deliver_slow (holding one: a drain lets it
        # deliver, and the pump checks for the stop right after).
        outs = self._outs
        if len(outs) == 1:
            await self._pump_async_one(iterator, outs[0])
            return
        stats = self.stats
        anext = iterator.__anext__
        emitted = 0
        try:
            while True:
                try:
                    item = await anext()
                except StopAsyncIteration:
                    return
                waited = woke = False
                for out in outs:
                    ob = out.buf
                    if len(ob) >= out.mark:
                        stats.emitted += emitted
                        emitted = 0
                        await self._deliver_slow(out)
                        waited = True
                    ob.append(item)
                    if out.getters:
                        out.wake_getters()
                        woke = True
                emitted += 1
                if woke:
                    stats.emitted += emitted
                    emitted = 0
                if waited and self._stop_requested:
                    return
        finally:
            stats.emitted += emitted

    async def _pump_async_one(self, iterator: Any, out: Any) -> None:
        stats = self.stats
        anext = iterator.__anext__
        ob = out.buf
        append = ob.append
        mark = 0
        emitted = 0
        try:
            while True:
                try:
                    item = await anext()
                except StopAsyncIteration:
                    return
                if len(ob) >= mark:
                    stats.emitted += emitted
                    emitted = 0
                    mark = await self._deliver_slow(out)
                    append(item)
                    emitted += 1
                    if out.getters:
                        out.wake_getters()
                    if self._stop_requested:
                        return
                    continue
                append(item)
                emitted += 1
                if out.getters:
                    out.wake_getters()
                    stats.emitted += emitted
                    emitted = 0
        finally:
            stats.emitted += emitted

    async def _pump_thread_gen(self, gen: Any) -> None:
        """A sync generator runs in the thread pool, one ``next()`` per hop.

        A thread cannot be interrupted, so a drain never cancels this pump: it
        lets the ``next()`` under way finish, delivers that item, then stops.
        """
        assert self._executor is not None
        self._holding = True
        try:
            while not self._stop_requested:
                item = await self._submit(next, gen, _END)
                if item is _END:
                    return
                await self._send(item)
                self.stats.emitted += 1
        finally:
            # The generator may still be running in its thread (we were
            # cancelled while waiting): let that call end before closing it.
            for cf in list(self._inflight):
                with contextlib.suppress(BaseException):
                    await asyncio.wrap_future(cf)
            await asyncio.wrap_future(self._executor.submit(gen.close))
