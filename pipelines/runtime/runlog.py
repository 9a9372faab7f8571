"""Run logs: ``get_run_logger()`` inside a node gives a logger whose records belong to the run.

Records go to the ``pipelines.run`` logger with ``run_id`` and ``node``
attributes (also in the message prefix, ``[node] message``), taken from the
task (or thread) that logs: the run sets them when it starts and each node's
task when it starts, and calls sent to a thread pool carry them along (calls
in worker processes do not: their records have no run).

``pipelines run`` shows INFO records above the live view. When the run is
recorded (a ``pipelines.store.Recorder``: ``pipelines run``, ``pipelines
serve``, a steps pipeline with a store, or yours), its records at INFO and
above are saved with it in batches, at most 1,000 per run and 2,000
characters each, the rest counted (``pipelines.store.logs``), and shown by
``pipelines runs logs ID``, ``GET /api/runs/{id}/logs`` and the run's
dashboard page. This module only tags records; it never writes anywhere.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import MutableMapping
from typing import Any

__all__ = ["RUN_LOGGER", "RunLoggerAdapter", "current_run", "get_run_logger", "set_node", "set_run"]

#: The logger run records go to (a child of ``pipelines``).
RUN_LOGGER = "pipelines.run"

_RUN: contextvars.ContextVar[str | None] = contextvars.ContextVar("pipelines_run", default=None)
_NODE: contextvars.ContextVar[str | None] = contextvars.ContextVar("pipelines_node", default=None)


def set_run(run_id: str) -> contextvars.Token[str | None]:
    """The current task (and the tasks it starts) runs ``run_id``."""
    return _RUN.set(run_id)


def set_node(name: str) -> contextvars.Token[str | None]:
    """The current task (and what it starts) is node ``name``."""
    return _NODE.set(name)


def current_run() -> tuple[str | None, str | None]:
    """(run id, node name) of the code running now, None where there is none."""
    return _RUN.get(), _NODE.get()


class RunLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Adds ``run_id`` and ``node`` (at log time) to every record."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Put the run id and node name in the record's ``extra`` and the message prefix."""
        run_id, node = current_run()
        extra = dict(kwargs.get("extra") or {})
        extra.setdefault("run_id", run_id)
        extra.setdefault("node", node)
        kwargs["extra"] = extra
        return (f"[{node}] {msg}" if node else msg), kwargs


def get_run_logger() -> RunLoggerAdapter:
    """A logger for the code of a node: its records carry the run id and the node's name."""
    return RunLoggerAdapter(logging.getLogger(RUN_LOGGER), {})
