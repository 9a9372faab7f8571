"""A node's task, from its first step to the end of its outputs.

:func:`run_node` picks how the node runs (a source, a stream operator, a
serial loop, a worker pool), then closes its outputs so the end of stream travels on. The node is
one actor of the run's stall board from its first step to its end (its
workers take its place while they run).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..spec.calling import Shape
from .loops import loop_serial, loop_stream
from .operators import run_operator
from .runlog import set_node
from .signals import Escalated
from .sources import run_source
from .taking import drain_inputs
from .workers import WorkerPool

if TYPE_CHECKING:
    from .node import Node

__all__ = ["run_node"]


async def run_node(node: Node) -> None:
    """Run ``node`` to completion, then end its outputs."""
    node.started = True
    set_node(node.name)  # for get_run_logger() in this task and what it starts
    try:
        await _run(node)
    except (KeyboardInterrupt, SystemExit) as exc:
        # Raised out of a task, these would leave the event loop at once; the
        # run stops cleanly first and then raises them as themselves.
        node.board.disable()
        raise Escalated(node.name, exc) from exc
    except BaseException:
        node.board.disable()
        raise
    node.board.leave()


async def _run(node: Node) -> None:
    stats = node.stats
    stats.started = time.monotonic()
    if node.events:
        node.events.emit("node_started", node.name)
    spec = node.spec
    opts = spec.options
    shape = spec.signature.shape
    if spec.is_source:
        await run_source(node)
    elif opts.operated:  # batch, window, reduce, join, rate, or keyed concurrency
        await run_operator(node)
    elif opts.concurrency == 1:
        # An async generator streams its results, unless retries, a timeout or
        # hooks need its results of one item together.
        gathered = opts.retries > 0 or opts.timeout is not None or spec.hooks is not None
        many = shape is Shape.SYNC_GEN or (shape is Shape.ASYNC_GEN and gathered)
        stats.peak_in_flight = 1
        if shape is Shape.ASYNC_GEN and not many:
            await loop_stream(node)
        else:
            await loop_serial(node, many)
        if len(node.inputs) > 1:
            await drain_inputs(node)
    else:
        await WorkerPool(node).run()
        if len(node.inputs) > 1:
            await drain_inputs(node)
    node.close_outputs()
    node.sync_peak()
    stats.finished = time.monotonic()
    if node.events:
        node.events.emit("node_finished", node.name, stats=stats.copy())
