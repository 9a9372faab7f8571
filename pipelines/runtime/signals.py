"""The engine's own control-flow exceptions, and which exceptions count as a node's failure.

A node's call can end with anything. :func:`is_failure` decides what the
error policy (retries, ``on_error``) applies to: every ``Exception``, a
``CancelledError`` the node raised itself (its task was not being
cancelled), and any other ``BaseException`` subclass a node defines. What
is not a failure propagates: a real cancellation of the run, the engine's
signals (:class:`EngineSignal`), and ``KeyboardInterrupt``/``SystemExit``,
which the node's task turns into :class:`Escalated` so the run is torn
down cleanly before ``run()`` raises them as themselves.
"""

from __future__ import annotations

import asyncio

__all__ = ["EngineSignal", "Escalated", "is_failure"]


class EngineSignal(BaseException):
    """Base of the exceptions the engine raises for its own control flow (never a failure).

    A BaseException so that no ``except Exception`` on the way (a node's
    ``on_error`` handling, a user's source) mistakes it for a failure.
    """


class Escalated(EngineSignal):
    """A node raised ``KeyboardInterrupt`` or ``SystemExit``: stop the run, then re-raise it."""

    def __init__(self, node: str, error: BaseException) -> None:
        super().__init__(node, error)
        self.node = node
        self.error = error


_NEVER_FAILURES = (KeyboardInterrupt, SystemExit, GeneratorExit, EngineSignal)


def is_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a node's call, is that node's failure (see the module doc)."""
    if isinstance(exc, Exception):
        return True
    if isinstance(exc, asyncio.CancelledError):
        task = asyncio.current_task()
        return task is not None and not task.cancelling()
    return not isinstance(exc, _NEVER_FAILURES)
