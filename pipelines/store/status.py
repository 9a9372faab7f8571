"""Run and worker statuses, and the heartbeat rules that turn silence into ``crashed``.

One place names every status, so a later status (``timed_out``, ``stalled``,
``late``...) is one line here, not a schema change: the ``status`` columns
are plain text.
"""

from __future__ import annotations

import os

__all__ = [
    "COMPLETED",
    "CRASHED",
    "DEFAULT_HEARTBEAT",
    "FAILED",
    "FINISHED",
    "HEARTBEAT_ENV",
    "LATE",
    "MISSED_HEARTBEATS",
    "OFFLINE",
    "ONLINE",
    "RUNNING",
    "RUN_STATUSES",
    "STALLED",
    "STOPPED",
    "TIMED_OUT",
    "WATCHDOG_STATUSES",
    "heartbeat_period",
    "is_offline",
]

RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
STOPPED = "stopped"
CRASHED = "crashed"
#: A watchdog stopped it: it ran longer than its ``run_timeout``.
TIMED_OUT = "timed_out"
#: A watchdog stopped it: no item moved for its ``stall_timeout``.
STALLED = "stalled"
#: A scheduled run that could not start within ``late_after`` of its time: never started.
LATE = "late"

#: Every run status, the live one first.
RUN_STATUSES = (RUNNING, COMPLETED, FAILED, STOPPED, CRASHED, TIMED_OUT, STALLED, LATE)
#: Statuses a run never leaves (a crash detector or a watchdog never touches them).
FINISHED = frozenset({COMPLETED, FAILED, STOPPED, CRASHED, TIMED_OUT, STALLED, LATE})
#: What a watchdog concludes about a live run: its own process then stops it.
WATCHDOG_STATUSES = frozenset({TIMED_OUT, STALLED})

ONLINE = "online"
OFFLINE = "offline"

#: Seconds between two heartbeats of a recording process, unless
#: ``PIPELINES_HEARTBEAT`` says otherwise.
DEFAULT_HEARTBEAT = 5.0
HEARTBEAT_ENV = "PIPELINES_HEARTBEAT"
#: A worker that missed this many heartbeats in a row is offline.
MISSED_HEARTBEATS = 3


def heartbeat_period(value: float | None = None) -> float:
    """The heartbeat period: ``value``, else ``$PIPELINES_HEARTBEAT``, else 5 s.

    Raises ValueError for a period that is not a number from 0.05 to 3600.
    """
    raw: object = value if value is not None else os.environ.get(HEARTBEAT_ENV)
    if raw is None or raw == "":
        return DEFAULT_HEARTBEAT
    try:
        period = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(
            f"heartbeat period must be a number of seconds, got {raw!r} ({HEARTBEAT_ENV})"
        ) from None
    if not 0.05 <= period <= 3600:
        raise ValueError(f"heartbeat period must be from 0.05 to 3600 seconds, got {raw!r}")
    return period


def is_offline(last_heartbeat: float, period: float, now: float) -> bool:
    """True when a worker that beats every ``period`` s has missed ``MISSED_HEARTBEATS`` in a row.

    The third missed beat was due at ``last + 3 * period``; the worker is
    offline strictly after that moment.
    """
    return now - last_heartbeat > MISSED_HEARTBEATS * period
