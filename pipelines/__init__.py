"""pipelines: an asyncio dataflow graph engine.

Declare a directed graph of nodes (a dict, or a YAML/JSON/TOML file); each
node wraps a coroutine or function. The :class:`Plumber` builds one
:class:`Processor` per node and wires bounded links between them, so items
stream from sources through transforms to sinks with backpressure, zip or
merge of inputs, fan-out, a clean end of stream and cancellation.

Importing this package prints nothing and starts nothing.
"""

from __future__ import annotations

import logging

from ._version import __version__
from .errors import (
    DeliveryError,
    GraphStalled,
    PipelineError,
    Problem,
    RemoteError,
    SpecError,
    SubscriberWarning,
    UnboundedQueueWarning,
)
from .runtime import (
    Context,
    ContextProtected,
    DeadLetter,
    Event,
    NodeStats,
    OutputQueue,
    Plumber,
    Processor,
    RunResult,
    Window,
    get_run_logger,
    run,
)
from .spec import DEFAULT_QUEUE_SIZE, NodeOptions

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "Context",
    "ContextProtected",
    "DeadLetter",
    "DeliveryError",
    "Event",
    "GraphStalled",
    "NodeOptions",
    "NodeStats",
    "OutputQueue",
    "PipelineError",
    "Plumber",
    "Problem",
    "Processor",
    "RemoteError",
    "RunResult",
    "SpecError",
    "SubscriberWarning",
    "UnboundedQueueWarning",
    "Window",
    "__version__",
    "get_run_logger",
    "run",
]

logging.getLogger("pipelines").addHandler(logging.NullHandler())
