"""Links that carry lists into a batch node (the batch fast path).

When a batch node feeds another batch node (and nothing else feeds that
one), their link carries the result lists themselves instead of single
items: the producer appends one list per call, the consumer hands a list of
exactly its ``size`` straight to its function and re-cuts the others. When
an async source (a generator or iterable) feeds only a batch node without
``timeout``, the source's pump builds lists of the consumer's ``size`` the
way a hand-written batched source would (:func:`pump_lists`): without a
timeout the consumer would call exactly those lists anyway. A chain of
batch nodes thus moves whole lists per queue operation.

The link's capacity, depth and peak count lists: ``ceil(queue_size /
producer batch size)`` of them (at least 2, so producer and consumer can
overlap), which holds about ``queue_size`` items when the producer returns
as many results as it gets items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...spec.calling import Shape
from ..link import BLOCK, Link
from ..pumps import deliver_slow
from ..stall import NO_BOARD, Board

if TYPE_CHECKING:
    from ...spec.model import NodeSpec
    from ..node import Node

__all__ = ["ChunkLink", "chunk_capacity", "pump_lists"]

#: Sources whose items an async pump moves (and :func:`pump_lists` can batch).
_PUMPED = (Shape.ASYNC_GEN, Shape.ASYNC_ITERABLE, Shape.ITERABLE)


class ChunkLink(Link):
    """A link whose items are non-empty lists (see the module docstring).

    ``size`` is the length of the lists a source's pump makes (the
    consumer's batch size); ``tail`` is the list it is filling: what the
    consumer takes last, once the link has ended (so a drain that stops the
    source loses none of it).
    """

    __slots__ = ("size", "tail")

    def __init__(
        self, name: str, capacity: int, size: int, producers: int = 1, board: Board = NO_BOARD
    ) -> None:
        super().__init__(name, capacity, producers, board)
        self.size = size
        self.tail: list[Any] | None = None


def chunk_capacity(producer: NodeSpec, consumer: NodeSpec) -> int | None:
    """The capacity in lists of a chunk link from ``producer`` to ``consumer``, or None.

    Only into a batch node whose only input is ``producer`` (no zip, merge
    or dead letters), with a bounded link that blocks when full (an overflow
    policy drops single items, not lists); from a batch node, or from an
    async source whose only output it is, if the consumer has no timeout.
    """
    consumed = consumer.options.batch
    options = consumer.options
    if (
        consumed is None
        or consumer.inputs != (producer.name,)
        or consumer.dead_letter_from
        or options.overflow != BLOCK
        or options.queue_size == 0
    ):
        return None
    produced = producer.options.batch
    if produced is not None:
        size = produced.size
    elif (
        producer.is_source
        and producer.signature.shape in _PUMPED
        and not producer.signature.upstream
        and producer.outputs == (consumer.name,)
        and not producer.options.collect
        and consumed.timeout is None
    ):
        size = consumed.size
    else:
        return None
    return max(2, -(-options.queue_size // size))


async def pump_lists(node: Node, iterator: Any, out: ChunkLink) -> None:
    """A source feeding a batch node: pump its items into lists of the link's ``size``.

    Like :func:`~..pumps.pump_async`, it suspends only for the next item (a
    drain cancels it there) or holding a full list while the link is full (a
    drain lets it deliver, then it stops). The list being filled is the
    link's ``tail``, so it reaches the consumer however the source ends.
    """
    stats = node.stats
    size = out.size
    batch: list[Any] = []
    out.tail = batch
    append = batch.append
    ob = out.buf
    try:
        async for item in iterator:
            append(item)
            if len(batch) < size:
                continue
            if len(ob) >= out.mark:
                await deliver_slow(node, out)
                ob.append(batch)
                stats.emitted += size
                batch = out.tail = []
                append = batch.append
                if out.getters:
                    out.wake_getters()
                if node.stop_requested:
                    return
                continue
            ob.append(batch)
            stats.emitted += size
            batch = out.tail = []
            append = batch.append
            if out.getters:
                out.wake_getters()
    finally:
        stats.emitted += len(batch)
