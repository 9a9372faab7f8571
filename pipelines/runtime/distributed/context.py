"""The stable id of the item a node is processing: :func:`current_item_id`.

Delivery to sinks outside Redis is at least once: a worker killed after its
sink wrote an item but before the batch was acknowledged leaves the batch to
another worker, which writes it again. Each item therefore has an id that is
the same on every delivery (the run's id and the item's sequence number), so
a sink can de-duplicate (an upsert keyed by it, a set of ids seen...).

The id lives in a context variable set around each call; plain ``def``
functions running in the worker's thread pool see it too (the pool copies
the caller's context). Functions in ``executor: process`` pools do not.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
from collections.abc import Callable
from typing import Any

from .seqs import Seqs, seq_text

__all__ = ["ContextThreadPool", "clear_current", "current_item_id", "set_current"]

_CURRENT: contextvars.ContextVar[tuple[str, Seqs, int] | None] = contextvars.ContextVar(
    "pipelines_current_item", default=None
)


def current_item_id() -> str | None:
    """The id of the item being processed (``"<run>:<seq>"``), in a distributed run.

    The same on every delivery of the item, so a sink outside Redis can
    de-duplicate. ``None`` outside a node's call or in a run in one process
    (where every item is delivered exactly once).
    """
    current = _CURRENT.get()
    if current is None:
        return None
    run, seqs, index = current
    return f"{run}:{seq_text(seqs[index])}"


def set_current(run: str, seqs: Seqs, index: int) -> None:
    """Say which item the calls of this task are about (the worker loop's job)."""
    _CURRENT.set((run, seqs, index))


def clear_current() -> None:
    """No item is being processed in this task any more."""
    _CURRENT.set(None)


class ContextThreadPool(concurrent.futures.Executor):
    """A thread pool whose calls run in a copy of the submitter's context."""

    def __init__(self, inner: concurrent.futures.ThreadPoolExecutor) -> None:
        self._inner = inner

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args, **kwargs)`` in a thread, inside a copy of the current context."""
        ctx = contextvars.copy_context()
        return self._inner.submit(ctx.run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the inner pool down."""
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)
