"""The run store (a surface): every run's figures, status and worker, in SQLite.

:class:`Store` is the database (``$PIPELINES_HOME/pipelines.db`` by
default, WAL mode, safe for several processes at once); :class:`Recorder`
records runs of this process into it and registers the process as a worker
with a heartbeat; :meth:`Recorder.record` attaches to a Plumber and returns
the :class:`Recording` of its next run. Recording is opt-in from Python:
importing this package writes nothing. See docs/store.md.
"""

from __future__ import annotations

from ..spec.durations import parse_duration
from .db import Store, StoreError
from .logs import MAX_MESSAGE, MAX_RECORDS, LogEntry, RunLogs
from .paths import default_path
from .recorder import Recorder
from .recording import Recording
from .records import EdgeFigures, NodeFigures, RunError, RunRecord, WorkerRecord
from .status import (
    COMPLETED,
    CRASHED,
    FAILED,
    FINISHED,
    OFFLINE,
    ONLINE,
    RUN_STATUSES,
    RUNNING,
    STOPPED,
)

__all__ = [
    "COMPLETED",
    "CRASHED",
    "FAILED",
    "FINISHED",
    "MAX_MESSAGE",
    "MAX_RECORDS",
    "OFFLINE",
    "ONLINE",
    "RUNNING",
    "RUN_STATUSES",
    "STOPPED",
    "EdgeFigures",
    "LogEntry",
    "NodeFigures",
    "Recorder",
    "Recording",
    "RunError",
    "RunLogs",
    "RunRecord",
    "Store",
    "StoreError",
    "WorkerRecord",
    "default_path",
    "parse_duration",
]
