"""The user's handle on one node of a running graph: a :class:`Processor`.

Upstream-style functions receive it as ``self``; plain functions get it by
declaring a keyword parameter named ``processor``. It shows the node's name,
``env_vars``, live ``stats`` and spec; the engine's state behind it is a
:class:`~pipelines.runtime.node.Node`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .link import Link
from .node import Node
from .sources import OutputQueue

if TYPE_CHECKING:
    from ..spec.model import NodeSpec
    from .clock import Clock
    from .stats import NodeStats

__all__ = ["Processor"]


class Processor:
    """One node of a running graph.

    Public attributes: ``name``, ``env_vars`` (the Plumber's env_vars),
    ``stats`` (:class:`~pipelines.NodeStats`, live), ``kind`` (``source``,
    ``transform`` or ``sink``), ``spec`` (the validated node spec),
    ``clock`` (the run's clock) and ``uuid``. Made by the Plumber, one per
    node and run.
    """

    __slots__ = ("_node", "_uuid")

    def __new__(cls, *args: Any, **kwargs: Any) -> Processor:
        # The engine makes handles with Processor(node). Code written for the
        # original builds Processor(coro=..., input_srcs=...) itself: that is
        # an UpstreamProcessor (pipelines.runtime.upstream), which starts at once.
        if cls is Processor and not (len(args) == 1 and not kwargs and isinstance(args[0], Node)):
            from .upstream import UpstreamProcessor

            return object.__new__(UpstreamProcessor)
        return object.__new__(cls)

    def __init__(self, node: Node) -> None:
        self._node = node
        self._uuid: str | None = None
        node.processor = self

    @property
    def name(self) -> str:
        """The node's name in the spec."""
        return self._node.name

    @property
    def env_vars(self) -> dict[str, Any]:
        """The run's ``env_vars`` (the spec's ``env`` updated with the Plumber's)."""
        return self._node.env_vars

    @property
    def stats(self) -> NodeStats:
        """The node's live counters."""
        return self._node.stats

    @property
    def spec(self) -> NodeSpec:
        """The validated node spec."""
        return self._node.spec

    @property
    def context(self) -> Any:
        """The run's shared context (see :mod:`pipelines.runtime.context`); None outside a run."""
        return self._node.injectables.get("context")

    @property
    def kind(self) -> str:
        """``source``, ``transform`` or ``sink``."""
        return self._node.spec.kind

    @property
    def uuid(self) -> str:
        """A unique id of this Processor (upstream attribute), made on first use."""
        if self._uuid is None:
            self._uuid = str(uuid.uuid4())
        return self._uuid

    @property
    def processor_coro(self) -> Any:
        """The node's function (upstream name)."""
        return self._node.spec.coro

    @property
    def collected(self) -> list[Any] | None:
        """The results kept so far with ``collect: true`` (else None)."""
        return self._node.collected

    @property
    def stop_requested(self) -> bool:
        """True once a graceful drain (``stop(drain=True)``) asked this source to stop.

        A source that keeps a resource up for the nodes downstream can read it
        when it is cancelled, to tell a drain (finish serving what is in
        flight) from a cancellation (release at once).
        """
        return self._node.stop_requested

    @property
    def clock(self) -> Clock:
        """The run's clock (``Plumber(clock=...)``): sources that pace themselves sleep on it."""
        return self._node.clock

    @property
    def input_links(self) -> tuple[Link, ...]:
        """The links this node takes from."""
        return tuple(self._node.inputs)

    @property
    def depth(self) -> int:
        """Items waiting in this node's input links now."""
        return self._node.depth

    # -- upstream names ---------------------------------------------------------------

    @property
    def liason_queues(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """``(input links, output links)`` (upstream name: the queues between nodes)."""
        outs = tuple(link for link in self._node.outs if isinstance(link, Link))
        return (tuple(self._node.inputs), outs)

    @property
    def input_queue(self) -> Any:
        """The node's (first) input link (upstream name), None for a source."""
        return self._node.inputs[0] if self._node.inputs else None

    @property
    def output_queue(self) -> Any:
        """What ``await output_queue.put(item)`` sends to every output (upstream name)."""
        return OutputQueue(self._node)

    def __repr__(self) -> str:
        return f"<Processor {self.name} ({self.kind}, {self.spec.signature.name})>"
