"""The runtime layer: the Plumber runs a plan's nodes and links under one task group.

Knows the spec and plan layers, never a surface (the only exception:
``Plumber.render``/``to_dot``/``to_mermaid`` and ``RunResult.render`` import
:mod:`pipelines.diagram` lazily, when called).
"""

from __future__ import annotations

from .context import Context, ContextProtected
from .events import Event, EventBus
from .link import Link
from .operators import Window
from .plumber import Plumber
from .policy import DeadLetter
from .processor import Processor
from .runlog import get_run_logger
from .runner import run
from .sources import OutputQueue
from .stats import NodeStats, RunResult

__all__ = [
    "Context",
    "ContextProtected",
    "DeadLetter",
    "Event",
    "EventBus",
    "Link",
    "NodeStats",
    "OutputQueue",
    "Plumber",
    "Processor",
    "RunResult",
    "Window",
    "get_run_logger",
    "run",
]
