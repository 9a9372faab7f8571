"""What the spec layer produces: a validated :class:`GraphSpec` of :class:`NodeSpec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .calling import Signature
from .options import NodeOptions

if TYPE_CHECKING:
    from .transport import TransportSpec

__all__ = ["GraphSpec", "NodeSpec"]


@dataclass(slots=True)
class NodeSpec:
    """One validated node: its function, bound args, options and neighbours."""

    name: str
    coro: Any
    raw_coro: Any
    args: dict[str, Any]
    options: NodeOptions
    signature: Signature
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()  # in the order the sources appear as keys of ``graph``
    dead_letter_from: tuple[str, ...] = ()  # nodes whose failures are routed here

    @property
    def dead_letter(self) -> str | None:
        """The node this node's failures go to, if ``on_error`` names one."""
        on_error = self.options.on_error
        return None if on_error in ("raise", "skip") else on_error

    @property
    def is_source(self) -> bool:
        """True for a node nothing feeds (neither graph inputs nor dead letters)."""
        return not self.inputs and not self.dead_letter_from

    @property
    def kind(self) -> str:
        """``source``, ``transform`` or ``sink``."""
        if self.is_source:
            return "source"
        return "sink" if not self.outputs else "transform"


@dataclass(slots=True)
class GraphSpec:
    """A whole validated spec."""

    nodes: dict[str, NodeSpec]
    name: str | None = None
    version: Any = None
    env: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the file it came from, if any
    transport: TransportSpec | None = None  # the ``transport:`` section, if any
