"""Run events for observers (progress views, dashboards, run stores).

Observers subscribe a callable; the runtime only builds an :class:`Event`
when somebody listens, so an unobserved run pays nothing on its hot path.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KINDS",
    "Event",
    "EventBus",
]

log = logging.getLogger("pipelines")

#: The kinds of events, in the order a run emits them.
KINDS = ("run_started", "node_started", "stats", "node_failed", "node_finished", "run_finished")


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a run.

    ``kind`` is one of ``run_started``, ``node_started``, ``stats`` (periodic,
    ``data["stats"]`` maps node -> NodeStats snapshot and ``data["depths"]``
    maps node -> current input depth), ``node_failed`` (``data`` has
    ``error``, ``item``, ``attempts``, ``action``), ``node_finished`` and
    ``run_finished`` (``data["result"]`` is the RunResult, or ``error``).
    """

    kind: str
    node: str | None = None
    time: float = field(default_factory=time.monotonic)
    data: dict[str, Any] = field(default_factory=dict)


class EventBus:
    """A list of subscribers; a subscriber's exception is logged, never raised."""

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], Any]] = []

    def __bool__(self) -> bool:
        return bool(self._subscribers)

    def subscribe(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; return a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def emit(self, kind: str, node: str | None = None, **data: Any) -> None:
        """Send an event to every subscriber (nothing is built when there are none)."""
        if not self._subscribers:
            return
        event = Event(kind, node, data=data)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("pipelines: event subscriber %r failed on %s", callback, kind)
