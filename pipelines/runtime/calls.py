"""Calling conventions at run time: ``invoke(item) -> awaitable`` for one node.

:func:`make_invoke` turns a node's function, its args and its calling style
(upstream ``self`` first, or plain) into one callable the loops await per
item; plain ``def`` functions go to the node's executor through
:class:`Offload`, which tracks the calls running there so a run can wait for
them (a thread cannot be interrupted) before it ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..spec.calling import Shape

if TYPE_CHECKING:
    from .node import Node

__all__ = ["Offload", "make_invoke"]


class Offload:
    """A node's executor (thread or process pool) and the calls it runs now."""

    __slots__ = ("executor", "inflight", "threads")

    def __init__(self, executor: concurrent.futures.Executor) -> None:
        self.executor = executor
        self.inflight: set[concurrent.futures.Future[Any]] = set()
        self.threads = not isinstance(executor, concurrent.futures.ProcessPoolExecutor)

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` on the executor, tracking it until it ends.

        In a thread the call sees the caller's context variables (the run
        logger's run and node), as ``asyncio.to_thread`` does.
        """
        if self.threads:
            cf = self.executor.submit(contextvars.copy_context().run, fn, *args)
        else:
            cf = self.executor.submit(fn, *args)
        self.inflight.add(cf)
        cf.add_done_callback(self.inflight.discard)
        return asyncio.wrap_future(cf)

    def cancel_queued(self) -> None:
        """Calls not started yet never start."""
        for cf in list(self.inflight):
            cf.cancel()

    async def wait_running(self) -> None:
        """Wait for the calls already running to end (their results are discarded)."""
        for cf in list(self.inflight):
            if not cf.cancelled():
                with contextlib.suppress(BaseException):
                    await asyncio.wrap_future(cf)


def _call_sync_gen(fn: Callable[..., Any], item: Any, kwargs: dict[str, Any]) -> list[Any]:
    return list(fn(item, **kwargs))


def _call_sync(fn: Callable[..., Any], item: Any, kwargs: dict[str, Any]) -> Any:
    return fn(item, **kwargs)


def make_invoke(node: Node, many: bool, units: bool = False) -> Callable[[Any], Any]:
    """Build ``invoke(item) -> awaitable`` for this node's calling convention.

    For ``many`` (generator functions) the awaitable gives a list of results.
    ``units``: the node is called on values an operator made (a list, a
    window), never on a zip's tuple, so an upstream-style function gets
    ``(value,)`` as its ``q_elt`` whatever the number of inputs.
    """
    spec = node.spec
    fn = spec.coro
    sig = spec.signature
    zipped = len(node.inputs) > 1 and not units
    shape = sig.shape
    kwargs = node.kwargs()
    if sig.upstream:
        # Upstream convention: coro(processor, q_elt, **args), q_elt a tuple.
        base = functools.partial(fn, node.processor)
        if zipped:
            call: Callable[[Any], Any] = functools.partial(base, **kwargs) if kwargs else base
        else:

            def call(item: Any) -> Any:
                return base((item,), **kwargs)

    else:
        call = functools.partial(fn, **kwargs) if kwargs else fn

    if shape is Shape.SYNC or shape is Shape.SYNC_GEN:
        offload = node.offload
        assert offload is not None, "plain def functions run on an executor"
        submit = offload.submit
        if shape is Shape.SYNC:
            if sig.upstream:
                return lambda item: submit(call, item)
            return lambda item: submit(_call_sync, fn, item, kwargs)
        if sig.upstream:
            return lambda item: submit(lambda i: list(call(i)), item)
        return lambda item: submit(_call_sync_gen, fn, item, kwargs)
    if shape is Shape.ASYNC_GEN and many:

        async def collect(item: Any) -> list[Any]:
            async with contextlib.aclosing(call(item)) as agen:
                return [value async for value in agen]

        return collect
    return call
