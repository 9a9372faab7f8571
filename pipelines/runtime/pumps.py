"""Source pumps: move what a source yields into its output links.

A pump suspends only in ``anext()`` (waiting for its next item: a drain
cancels it there) or in :func:`deliver_slow` (holding one item while a link
is full: a drain lets it deliver, and the pump checks for the stop right
after), so a drain never loses an item a source has produced.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .taking import END, send

if TYPE_CHECKING:
    from .node import Node

__all__ = ["deliver_slow", "pump_async", "pump_thread_gen"]


async def deliver_slow(node: Node, out: Any) -> int:
    """A source's slow path: it holds an item while it waits for space.

    A drain requested meanwhile must not interrupt it (the item would be
    lost): ``node.holding`` tells the stop protocol to let it finish; the
    pump then stops after delivering the item to every output.
    """
    node.holding = True
    try:
        mark: int = await out.reserve()
        return mark
    finally:
        node.holding = False


async def pump_async(node: Node, iterator: Any) -> None:
    """Pump an async iterator into every output (the one-output case has its own loop)."""
    outs = node.outs
    if outs:
        node.poke = (outs[0], "getters")  # its publishing branch: it woke a consumer
    if len(outs) == 1:
        await _pump_async_one(node, iterator, outs[0])
        return
    stats = node.stats
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
                    await deliver_slow(node, out)
                    waited = True
                ob.append(item)
                if out.getters:
                    out.wake_getters()
                    woke = True
            emitted += 1
            if woke:
                stats.emitted += emitted
                emitted = 0
            if waited and node.stop_requested:
                return
    finally:
        stats.emitted += emitted


async def _pump_async_one(node: Node, iterator: Any, out: Any) -> None:
    stats = node.stats
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
                mark = await deliver_slow(node, out)
                append(item)
                emitted += 1
                if out.getters:
                    out.wake_getters()
                if node.stop_requested:
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


async def pump_thread_gen(node: Node, gen: Any) -> None:
    """A sync generator runs in the thread pool, one ``next()`` per hop.

    A thread cannot be interrupted, so a drain never cancels this pump: it
    lets the ``next()`` under way finish, delivers that item, then stops.
    """
    offload = node.offload
    assert offload is not None, "a generator source runs on an executor"
    node.holding = True
    try:
        while not node.stop_requested:
            item = await offload.submit(next, gen, END)
            if item is END:
                return
            await send(node, item)
            node.stats.emitted += 1
    finally:
        # The generator may still be running in its thread (we were
        # cancelled while waiting): let that call end before closing it.
        await offload.wait_running()
        await asyncio.wrap_future(offload.executor.submit(gen.close))
