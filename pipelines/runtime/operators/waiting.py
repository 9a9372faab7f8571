"""Waiting for input with a deadline, and taking a zip's tuple without losing a partial one.

A time-based operator (a batch timeout, a window's end, a join's expiry)
must wake either when an item arrives or when its deadline passes. Instead
of a task per wait, the wait future is registered on the links (like
:meth:`Link.wait_items`) and on the node's clock (``Clock.call_at``), and
whichever comes first resolves it.

A wait with a deadline is not a stall: the node will wake by itself, so it
is not put on the run's stall board. A wait without one is, like any other
wait inside the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..taking import END

if TYPE_CHECKING:
    from ..link import Link
    from ..node import Node

__all__ = ["TIMEOUT", "take_zip_until", "wait_inputs"]

#: Returned by a take whose deadline passed before an item came.
TIMEOUT: Any = object()


async def wait_inputs(node: Node, links: Sequence[Link], deadline: float | None) -> None:
    """Wait until one of ``links`` may have an item or has ended, or ``node.clock`` reaches ``deadline``.

    Cancellation is safe: nothing is taken here.
    """
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for link in links:
        link.getters.append(fut)
    board = node.board
    timer = None
    if deadline is not None:

        def expire() -> None:
            if not fut.done():
                fut.set_result(None)

        timer = node.clock.call_at(deadline, expire)
    else:
        queued = ", ".join(f"{link.name} ({len(link.buf)} queued)" for link in links)
        board.wait(fut, f"{node.name}: waits for an item on {queued}")
    try:
        await fut
    finally:
        if timer is not None:
            timer.cancel()
        board.done(fut)
        for link in links:
            with contextlib.suppress(ValueError):
                link.getters.remove(fut)


async def take_zip_until(node: Node, deadline: float | None) -> Any:
    """One tuple of a zip's inputs; :data:`END` when one has ended; :data:`TIMEOUT` at ``deadline``.

    Items are taken only once every input has one, so a timeout never
    leaves a partial tuple behind (what remains at the end is drained and
    counted by :func:`~pipelines.runtime.taking.drain_inputs`).
    """
    links = node.inputs
    while True:
        empty = [link for link in links if not link.buf]
        if not empty:
            break
        if any(link.closed for link in empty):
            return END
        if deadline is not None and node.clock.monotonic() >= deadline:
            return TIMEOUT
        await wait_inputs(node, empty, deadline)
    values = []
    for link in links:
        values.append(link.buf.popleft())
        if link.putters:
            link.wake_putters()
    return tuple(values)
