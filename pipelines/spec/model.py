"""What the spec layer produces: a validated :class:`GraphSpec` of :class:`NodeSpec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .calling import Signature
from .cycle import ONCE, CycleSpec
from .limits import NO_LIMITS, WatchdogSpec
from .options import NodeOptions
from .schedule import ScheduleSpec

if TYPE_CHECKING:
    from .transport import TransportSpec

__all__ = ["GraphSpec", "NodeHooks", "NodeSpec", "RunHooks"]


@dataclass(frozen=True, slots=True)
class NodeHooks:
    """A node's hooks (resolved callables, sync or async), each optional.

    ``before(item)``, ``after(item, result)`` and ``on_error(item, error)``
    observe a call; ``around(call, item)`` wraps it (``await call(item)``
    inside it runs the call, with its retries and timeout).
    """

    before: Any = None
    after: Any = None
    around: Any = None
    on_error: Any = None


@dataclass(frozen=True, slots=True)
class RunHooks:
    """A run's hooks: ``before_run()``, ``after_run(result)``, ``on_error(error)``."""

    before_run: Any = None
    after_run: Any = None
    on_error: Any = None


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
    #: Parameters the run fills in by name: ``processor``, ``context``, resources.
    inject: tuple[str, ...] = ()
    hooks: NodeHooks | None = None
    #: The subgraph nodes this node sits in, outermost first (``("enrich",)``).
    group: tuple[str, ...] = ()
    #: functions the options name, resolved: "key", "window.time", "reduce.fn", "join.key"
    functions: dict[str, Any] = field(default_factory=dict)

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
    hooks: RunHooks | None = None
    #: Resource name -> factory (a callable returning a context manager).
    resources: dict[str, Any] = field(default_factory=dict)
    #: The shared context's initial mapping, and ``lockable`` or ``protected``.
    context: dict[str, Any] = field(default_factory=dict)
    context_mode: str = "lockable"
    #: When ``pipelines serve`` starts runs by itself (None: never).
    schedule: ScheduleSpec | None = None
    #: How many times one run repeats the graph (``once`` by default).
    cycle: CycleSpec = ONCE
    #: The limits a watchdog enforces on this pipeline's runs.
    watchdog: WatchdogSpec = NO_LIMITS
    transport: TransportSpec | None = None  # the ``transport:`` section, if any
