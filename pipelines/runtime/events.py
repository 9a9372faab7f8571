"""Run events for observers (progress views, dashboards, run stores).

Observers subscribe a callable; the runtime only builds an :class:`Event`
when somebody listens, so an unobserved run pays nothing on its hot path.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import SubscriberWarning

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

    __slots__ = ("_subscribers", "_warned")

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], Any]] = []
        self._warned: set[int] = set()

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
            except Exception as exc:
                log.exception("pipelines: event subscriber %r failed on %s", callback, kind)
                if id(callback) not in self._warned:
                    self._warned.add(id(callback))
                    warnings.warn(
                        f"event subscriber {callback!r} raised {type(exc).__name__}: {exc} "
                        f"on a {kind!r} event; the run goes on (reported once per subscriber, "
                        "every failure is logged to the 'pipelines' logger)",
                        SubscriberWarning,
                        stacklevel=2,
                    )
