"""Sending an operator node's results to its outputs.

:meth:`Emitter.one` sends one result like any node; :meth:`Emitter.many`
sends a list of results: as one list to a :class:`ChunkLink` (a batch node
feeding a batch node), with one ``extend`` to a link that has room for all
of them under its mark, and item by item, waiting for space, otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..taking import send
from .chunks import ChunkLink

if TYPE_CHECKING:
    from ..node import Node

__all__ = ["Emitter"]


class Emitter:
    """The outputs of one operator node and its ``emitted`` counter."""

    __slots__ = ("many", "node", "outs", "stats")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.outs = node.outs
        self.stats = node.stats
        #: ``await many(results)``: send each of ``results`` to every output, in order.
        self.many: Callable[[list[Any]], Awaitable[None]] = self._many
        if not self.outs:
            self.many = self._count
        elif len(self.outs) == 1 and type(self.outs[0]) is ChunkLink:
            self.many = self._to_batch_node

    async def one(self, result: Any) -> None:
        """Send one result to every output."""
        await send(self.node, result)
        self.stats.emitted += 1

    async def _count(self, results: list[Any]) -> None:
        self.stats.emitted += len(results)  # a sink: nothing to send

    async def _to_batch_node(self, results: list[Any]) -> None:
        # The batch fast path: the list itself goes to the next batch node.
        if not results:
            return
        out = self.outs[0]
        ob = out.buf
        if len(ob) >= out.mark:
            await out.reserve()
        ob.append(results)
        if out.getters:
            out.wake_getters()
        self.stats.emitted += len(results)

    async def _many(self, results: list[Any]) -> None:
        if not results:
            return
        shared = False  # a list handed to one chunk link is copied for the next
        for out in self.outs:
            ob = out.buf
            if type(out) is ChunkLink:
                if len(ob) >= out.mark:
                    await out.reserve()
                ob.append(list(results) if shared else results)
                shared = True
            elif len(ob) + len(results) <= out.mark:
                ob.extend(results)  # room under the mark: no wait, no new peak
            else:
                for value in results:
                    if len(ob) >= out.mark:
                        await out.reserve()
                    ob.append(value)
                    if out.getters:
                        out.wake_getters()
            if out.getters:
                out.wake_getters()
        self.stats.emitted += len(results)
