"""Run logs in the store: records of ``get_run_logger()`` saved with their run, bounded.

A :class:`Recorder` puts a :class:`LogCapture` handler on the ``pipelines.run``
logger. A record at INFO or above that carries the id of a run the recorder
is recording goes to that run's :class:`LogBook`, which numbers it, keeps at
most :data:`MAX_RECORDS` per run (the rest are counted as dropped) and cuts
messages to :data:`MAX_MESSAGE` characters (counted as truncated); the
writer then saves what the books hand it in its next flush, in one
transaction with the run's figures: never one write per record.

Records logged in worker processes (``executor: process``) and after the
run has ended are not saved. While a recorder captures, the ``pipelines.run``
logger lets INFO records through (its level is lowered to INFO when it was
higher, and put back when the last capture ends), so your own handlers above
it see them too.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..runtime.runlog import RUN_LOGGER
from .encoding import iso

if TYPE_CHECKING:
    from .recording import Recording

__all__ = [
    "MAX_MESSAGE",
    "MAX_RECORDS",
    "LogBook",
    "LogCapture",
    "LogEntry",
    "RunLogs",
    "read_logs",
    "write_log_counts",
    "write_logs",
]

#: Records kept per run; later ones are counted as dropped.
MAX_RECORDS = 1000
#: Characters kept of a message (its traceback included); longer ones are cut.
MAX_MESSAGE = 2000

_CUT = " [... cut]"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One saved record: its number in the run (from 1), time (epoch seconds), level,
    node (None for the run itself) and message (without the ``[node]`` prefix)."""

    seq: int
    time: float
    level: str
    node: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "seq": self.seq,
            "time": iso(self.time),
            "level": self.level,
            "node": self.node,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class RunLogs:
    """A run's saved records (in order) and what its bounds left out."""

    run_id: str
    entries: list[LogEntry]
    dropped: int = 0  # records past MAX_RECORDS, not saved
    truncated: int = 0  # messages cut to MAX_MESSAGE characters

    def as_json(self) -> dict[str, Any]:
        """The API form (``GET /api/runs/{id}/logs``, ``pipelines runs logs --json``)."""
        return {
            "run_id": self.run_id,
            "logs": [entry.as_json() for entry in self.entries],
            "dropped": self.dropped,
            "truncated": self.truncated,
            "limit": MAX_RECORDS,
        }


class LogBook:
    """The records of one recorded run: numbered, bounded, handed to the writer.

    ``send(entry)`` and ``count(dropped, truncated)`` are the writer's
    ``log`` and ``log_counts``; :meth:`add` may be called from any thread.
    """

    def __init__(
        self,
        run_id: str,
        send: Callable[[str, LogEntry], None],
        count: Callable[[str, int, int], None],
        limit: int = MAX_RECORDS,
    ) -> None:
        self.run_id = run_id
        self.limit = limit
        self.kept = 0
        self.dropped = 0
        self.truncated = 0
        self._send = send
        self._count = count
        self._lock = threading.Lock()
        self._formatter = logging.Formatter()

    def add(self, record: logging.LogRecord) -> None:
        """Keep ``record`` if the run has room for it; count it as dropped otherwise."""
        with self._lock:
            if self.kept >= self.limit:
                self.dropped += 1
                self._count(self.run_id, self.dropped, self.truncated)
                return
            message = self._message(record)
            cut = len(message) > MAX_MESSAGE
            if cut:
                message = message[: MAX_MESSAGE - len(_CUT)] + _CUT
                self.truncated += 1
            self.kept += 1
            node = getattr(record, "node", None)
            entry = LogEntry(
                self.kept,
                record.created,
                record.levelname,
                node if isinstance(node, str) else None,
                message,
            )
            self._send(self.run_id, entry)
            if cut:
                self._count(self.run_id, self.dropped, self.truncated)

    def _message(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        node = getattr(record, "node", None)
        prefix = f"[{node}] " if node else ""
        if prefix and message.startswith(prefix):  # the node has its own column
            message = message[len(prefix) :]
        if record.exc_info:
            message = f"{message}\n{self._formatter.formatException(record.exc_info)}"
        elif record.exc_text:
            message = f"{message}\n{record.exc_text}"
        return message


class LogCapture(logging.Handler):
    """A handler on ``pipelines.run`` that hands each record of a run being recorded to its
    :class:`LogBook` (``find(run_id)`` gives the live recording, or None)."""

    def __init__(self, find: Callable[[str], Recording | None]) -> None:
        super().__init__(logging.INFO)
        self._find = find

    def emit(self, record: logging.LogRecord) -> None:
        """Save ``record`` with its run, if that run is being recorded here."""
        run_id = getattr(record, "run_id", None)
        if not isinstance(run_id, str):
            return
        recording = self._find(run_id)
        if recording is None:
            return
        try:
            recording.logs.add(record)
        except Exception:  # logging must never break the run
            self.handleError(record)

    # The level of ``pipelines.run`` while captures are installed (see the module doc).
    _users = 0
    _restore: int | None = None
    _level_lock = threading.Lock()

    def install(self) -> None:
        """Attach to ``pipelines.run``; let INFO records through while any capture is attached."""
        logger = logging.getLogger(RUN_LOGGER)
        with LogCapture._level_lock:
            if LogCapture._users == 0 and logger.getEffectiveLevel() > logging.INFO:
                LogCapture._restore = logger.level
                logger.setLevel(logging.INFO)
            LogCapture._users += 1
        logger.addHandler(self)

    def uninstall(self) -> None:
        """Detach; the last capture to go puts the logger's level back."""
        logger = logging.getLogger(RUN_LOGGER)
        logger.removeHandler(self)
        with LogCapture._level_lock:
            LogCapture._users -= 1
            if LogCapture._users == 0 and LogCapture._restore is not None:
                if logger.level == logging.INFO:  # unless somebody set another level meanwhile
                    logger.setLevel(LogCapture._restore)
                LogCapture._restore = None


# -- the database --------------------------------------------------------------------


def write_logs(conn: sqlite3.Connection, entries: Iterable[tuple[str, LogEntry]]) -> None:
    """Insert records (``(run_id, entry)``); those of runs no longer in the store are skipped."""
    conn.executemany(
        "INSERT OR IGNORE INTO run_logs (run_id, seq, time, level, node, message)"
        " SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)",
        [(run_id, e.seq, e.time, e.level, e.node, e.message, run_id) for run_id, e in entries],
    )


def write_log_counts(conn: sqlite3.Connection, counts: dict[str, tuple[int, int]]) -> None:
    """Record how many records each run dropped and how many messages were cut."""
    conn.executemany(
        "INSERT INTO run_log_counts (run_id, dropped, truncated)"
        " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)"
        " ON CONFLICT (run_id) DO UPDATE SET dropped = excluded.dropped,"
        " truncated = excluded.truncated",
        [(run_id, dropped, cut, run_id) for run_id, (dropped, cut) in counts.items()],
    )


def read_logs(
    conn: sqlite3.Connection, run_id: str, after: int = 0, limit: int = MAX_RECORDS
) -> RunLogs:
    """A run's records numbered above ``after`` (at most ``limit``), with its counts."""
    rows = conn.execute(
        "SELECT seq, time, level, node, message FROM run_logs"
        " WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (run_id, after, max(1, min(limit, MAX_RECORDS))),
    )
    entries = [LogEntry(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    counts = conn.execute(
        "SELECT dropped, truncated FROM run_log_counts WHERE run_id = ?", (run_id,)
    ).fetchone()
    dropped, truncated = (counts[0], counts[1]) if counts is not None else (0, 0)
    return RunLogs(run_id, entries, dropped, truncated)
