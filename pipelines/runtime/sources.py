"""Sources: how a node without inputs runs, and how a drain stops it.

The stop protocol: :func:`request_stop` sets ``node.stop_requested`` and, if
the source is waiting for its next item, cancels its task; a source holding
an item (``node.holding``) is let finish delivering it and stops right
after. :func:`run_source` tells that cancel (a drain, which ends the source
normally) from a cancellation of the run (which propagates).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from ..spec.calling import Shape
from .hooks import call_hook
from .link import BLOCK
from .operators.chunks import ChunkLink, pump_lists
from .policy import NO_ITEM, Failure, handle_failure, with_policy
from .pumps import pump_async, pump_thread_gen
from .signals import EngineSignal, is_failure
from .taking import send

if TYPE_CHECKING:
    from .node import Node

__all__ = ["OutputQueue", "StopSource", "request_stop", "run_source"]


class StopSource(EngineSignal):
    """Raised inside an upstream-style source once a drain was requested.

    An engine signal, so that a source's ``except Exception`` does not
    swallow it; it is raised only after the item being put has been delivered.
    """


class OutputQueue:
    """What an upstream-style source receives as ``output_q``.

    ``await output_q.put(item)`` sends the item to every output of the node,
    waiting while a link is full (backpressure).
    """

    __slots__ = ("_node",)

    def __init__(self, node: Node) -> None:
        self._node = node

    async def put(self, item: Any) -> None:
        """Send ``item`` to every output; raises nothing but cancellation."""
        node = self._node
        if node.stop_requested:
            raise StopSource
        node.holding = True
        try:
            await send(node, item)
        finally:
            node.holding = False
        node.stats.emitted += 1
        if node.stop_requested:
            raise StopSource

    def put_nowait(self, item: Any) -> None:
        """Send ``item`` without waiting; raises ``asyncio.QueueFull`` if a link is full.

        A full link with an ``overflow`` policy drops an item instead (counted).
        """
        node = self._node
        for out in node.outs:
            if len(out.buf) >= out.capacity and out.overflow == BLOCK:
                raise asyncio.QueueFull
        for out in node.outs:
            if len(out.buf) >= out.mark:  # the put's slow path, minus the wait
                if len(out.buf) >= out.capacity:
                    out.shed()  # a link that drops instead of waiting
                else:
                    out.note_put()
            out.buf.append(item)
            if out.getters:
                out.wake_getters()
        node.stats.emitted += 1

    def qsize(self) -> int:
        """The largest depth among the output links."""
        return max((len(link.buf) for link in self._node.outs), default=0)


def request_stop(node: Node) -> None:
    """Stop this source for a drain: now if it waits for its next item, else once its item is delivered."""
    if node.stop_requested:
        return
    node.stop_requested = True
    task = node.task
    # A task that has not taken its first step cannot catch a cancel (the
    # coroutine would end before its try block); it sees the flag instead.
    if task is not None and node.started and not task.done() and not node.holding:
        node.stop_cancels += 1
        task.cancel()


async def run_source(node: Node) -> None:
    """Run a source to its end, a drain or a failure (handled per ``on_error``)."""
    try:
        try:
            if not node.stop_requested:
                await _source_body(node)
        except StopSource:
            pass
        except BaseException as exc:
            if not is_failure(exc):
                raise
            node.holding = True  # its failure record is delivered like an item
            hooks = node.spec.hooks
            if hooks is not None and hooks.on_error is not None:
                await call_hook(
                    hooks.on_error, None, exc.error if isinstance(exc, Failure) else exc
                )
            await handle_failure(node, NO_ITEM, exc)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not node.stop_cancels or task is None:
            raise
        # Our own cancel (a drain) ends the source normally; any other
        # pending cancellation (the run being cancelled) still propagates.
        for _ in range(node.stop_cancels):
            task.uncancel()
        node.stop_cancels = 0
        if task.cancelling():
            raise


async def _iterate(values: Any) -> Any:
    """An iterable source (a list, a range...) as an async iterator."""
    for value in values:
        yield value


async def _source_body(node: Node) -> None:
    spec = node.spec
    sig = spec.signature
    fn = spec.coro
    shape = sig.shape
    kwargs = node.kwargs()
    if sig.upstream:
        await fn(node.processor, OutputQueue(node), **kwargs)
        return
    if shape in (Shape.ASYNC_GEN, Shape.ASYNC_ITERABLE, Shape.ITERABLE):
        if shape is Shape.ASYNC_GEN:
            iterator = fn(**kwargs).__aiter__()
        elif shape is Shape.ASYNC_ITERABLE:
            iterator = fn.__aiter__()
        else:
            iterator = _iterate(fn)  # data: iterated on the loop, one pump for all
        try:
            out = node.outs[0] if len(node.outs) == 1 else None
            if isinstance(out, ChunkLink):  # feeds a batch node: lists, not items
                await pump_lists(node, iterator, out)
            else:
                await pump_async(node, iterator)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        return
    if shape is Shape.SYNC_GEN:
        await pump_thread_gen(node, fn(**kwargs))
        return
    # A plain function source is called once; its return value is one item.
    options, stats = spec.options, node.stats
    if shape is Shape.COROUTINE:
        result = await with_policy(lambda _: fn(**kwargs), options, stats)(None)
    else:
        offload = node.offload
        assert offload is not None, "a plain def source runs on an executor"
        call = functools.partial(fn, **kwargs)
        result = await with_policy(lambda _: offload.submit(call), options, stats)(None)
    node.holding = True
    await send(node, result)
    stats.emitted += 1
