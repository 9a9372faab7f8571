"""Taking from a node's input links and sending to its outputs, off the hot loops.

The hot loops (:mod:`.loops`) inline these steps for their common case and
call these functions on their slow paths; the generator loop, the worker pool
and the sources use them directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .node import Node

__all__ = ["END", "drain_inputs", "send", "take_one", "take_zip"]

log = logging.getLogger("pipelines")

#: Returned by a take when the input has ended.
END: Any = object()


async def send(node: Node, item: Any) -> None:
    """Put ``item`` to every output of ``node``, waiting while one is full."""
    for out in node.outs:
        ob = out.buf
        if len(ob) >= out.mark:
            await out.reserve()
        ob.append(item)
        if out.getters:
            out.wake_getters()


async def take_zip(node: Node) -> Any:
    """Take one item from each input link, in order; :data:`END` when one has ended."""
    values: list[Any] = []
    for link in node.inputs:
        buf = link.buf
        while not buf:
            if link.closed:
                node.stats.dropped += len(values)
                return END
            await link.wait_items()
        values.append(buf.popleft())
        if link.putters:
            link.wake_putters()
    return tuple(values)


async def take_one(node: Node) -> Any:
    """Take one item from the single input link; :data:`END` when it has ended."""
    link = node.inputs[0]
    buf = link.buf
    while not buf:
        if link.closed:
            return END
        await link.wait_items()
    item = buf.popleft()
    if link.putters:
        link.wake_putters()
    return item


async def drain_inputs(node: Node) -> None:
    """Discard what is left on a zip's inputs until they end, so no producer blocks.

    Waits on all links at once: a producer blocked on one full link may be
    the one that would close another.
    """
    links = list(node.inputs)
    board = node.board
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
            board.wait(
                fut, f"{node.name}: zip ended, drains {', '.join(link.name for link in links)}"
            )
            await fut
        finally:
            board.done(fut)
            for link in links:
                with contextlib.suppress(ValueError):
                    link.getters.remove(fut)
    if dropped:
        node.stats.dropped += dropped
        log.info(
            "pipelines: node %r: zip ended; dropped %d items left on its other inputs",
            node.name,
            dropped,
        )
