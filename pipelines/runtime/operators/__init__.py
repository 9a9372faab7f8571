"""Stream operators: node options compiled into the node's loop.

``batch``, ``window``, ``reduce``, ``join``, ``rate``, and ``key`` with
``concurrency`` > 1 make a node run :func:`run_operator` instead of the
plain loops (:mod:`..loops`, :mod:`..workers`), which a node without them
runs unchanged. An operator loop takes items, assembles *units* (lists,
windows, ``(key, value)``, ``(left, right)``, or the items themselves) and
hands them to :class:`~.calling.Calls`, which calls the node's function
(inline, or on N workers routed by key) and sends the results on.
``overflow`` is not here: it lives on the slow path of :class:`~..link.Link`.

Semantics and bounds: docs/operators.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...spec.calling import Shape
from ..calls import make_invoke
from ..hooks import with_hooks
from ..policy import with_policy
from ..taking import drain_inputs
from .batch import Batcher
from .calling import Calls, PoolCalls, SerialCalls
from .chunks import ChunkLink, chunk_capacity
from .join import Join
from .plain import run_plain
from .rate import TokenBucket
from .stateful import Stateful
from .units import Window

if TYPE_CHECKING:
    from ..node import Node

__all__ = ["ChunkLink", "TokenBucket", "Window", "chunk_capacity", "make_calls", "run_operator"]


def make_calls(node: Node) -> Calls:
    """How this node calls its function: policy, rate, and one or N workers."""
    spec = node.spec
    opts = spec.options
    shape = spec.signature.shape
    many = shape in (Shape.ASYNC_GEN, Shape.SYNC_GEN)
    # A unit of batch, window or reduce is one value, not a tuple of inputs
    # (an upstream-style function gets it as ``(unit,)``); a join's pair is.
    units = opts.batch is not None or opts.window is not None or opts.reduce is not None
    gate = TokenBucket(opts.rate, node.clock).acquire if opts.rate is not None else None
    invoke = with_policy(make_invoke(node, many, units=units), opts, node.stats, gate=gate)
    invoke = with_hooks(invoke, spec.hooks)  # hooks see units: a list, a window, a pair
    node.use_invoke(invoke, None)  # calls read node.invoke: sampling can time one
    batch = opts.batch is not None
    if opts.concurrency == 1:
        return SerialCalls(node, invoke, batch=batch, many=many)
    keyed = "key" in spec.functions
    return PoolCalls(node, invoke, batch=batch, many=many, keyed=keyed)


async def run_operator(node: Node) -> None:
    """Run an operator node until its input ends and every call is done.

    What the operator holds when the run is cancelled (or fails) is counted
    in ``dropped``: a cancellation loses nothing silently.
    """
    opts = node.spec.options
    calls = make_calls(node)
    operator: Any
    if opts.batch is not None:
        operator = Batcher(node, calls)
    elif opts.join is not None:
        operator = Join(node, calls)
    elif opts.window is not None or opts.reduce is not None:
        operator = Stateful(node, calls)
    else:
        operator = None
    feed = operator.feed if operator is not None else (lambda: run_plain(node, calls))
    try:
        await calls.run(feed)
    except BaseException:
        node.stats.dropped += calls.held + (operator.held if operator is not None else 0)
        raise
    if len(node.inputs) > 1 and opts.join is None:
        await drain_inputs(node)
