"""The run store: one SQLite file, shared by every process that records or reads runs."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..runtime.clock import SYSTEM_CLOCK, Clock
from . import writes
from .logs import MAX_RECORDS, RunLogs, read_logs
from .paths import default_path
from .prune import prune, runs_to_prune
from .records import EdgeFigures, NodeFigures, RunRecord, WorkerRecord
from .schema import SchemaTooNew, migrate
from .status import RUNNING

__all__ = ["MAX_LIMIT", "Store", "StoreError"]

#: Most runs or workers one listing returns.
MAX_LIMIT = 1000

_RUN_COLUMNS = (
    "runs.id, runs.pipeline, runs.status, runs.trigger, runs.worker_id, runs.started_at,"
    " runs.ended_at, runs.duration, runs.updated_at, runs.progress_at, runs.noticed_at,"
    " runs.spec_hash, runs.spec_path, runs.version, runs.parameters, runs.items_in,"
    " runs.items_out, runs.error_node, runs.error_item, runs.error_type, runs.error_message,"
    " runs.cycle_of, runs.cycle, workers.name AS worker"
)
_FROM = " FROM runs LEFT JOIN workers ON workers.id = runs.worker_id"


class StoreError(Exception):
    """The store cannot be opened or used; the message names the file and the reason."""


class Store:
    """A run store in the SQLite file at ``path`` (created, with its folder, if missing).

    SQLite in WAL mode with a busy timeout, so several processes record and
    read at once: readers never wait, writers wait their turn (up to
    ``busy_timeout`` seconds). Each thread gets its own connection; the
    methods are blocking, so call them off the event loop (the recorder's
    thread, ``asyncio.to_thread``). ``clock`` gives "now" to crash detection
    and pruning. Raises :class:`StoreError` when the file cannot be used.
    """

    def __init__(
        self, path: str | Path, *, clock: Clock = SYSTEM_CLOCK, busy_timeout: float = 10.0
    ) -> None:
        self.path = Path(path).expanduser()
        self.clock = clock
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            # Private by default: specs and parameters may hold secrets.
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder of the run store {self.path}: {exc}"
            ) from None
        self.connection()  # open (and migrate) now, so a bad path fails here

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        busy_timeout: float = 10.0,
    ) -> Store:
        """The store at ``path``, or at ``$PIPELINES_HOME/pipelines.db`` (``~/.pipelines``)."""
        return cls(
            path if path is not None else default_path(), clock=clock, busy_timeout=busy_timeout
        )

    # -- connections ---------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened, in WAL mode, on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise StoreError(f"the run store {self.path} is closed")
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # explicit transactions only
                check_same_thread=False,  # close() may run on another thread
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the run store {self.path}: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            self._when_unlocked(lambda: _set_up(conn))
        except SchemaTooNew as exc:
            conn.close()
            raise StoreError(f"{self.path}: {exc}") from None
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot use the run store {self.path}: {exc}") from None
        with self._lock:
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def _when_unlocked(self, step: Callable[[], None]) -> None:
        """Run ``step``, again while SQLite says "locked" without waiting, up to ``busy_timeout``.

        SQLite's busy handler does not cover every lock: switching a new file
        to WAL while another process opening it holds its write lock fails at
        once (the switch would deadlock), so two processes creating one store
        together would see "database is locked" in a millisecond. Waiting and
        trying again is what the busy timeout would have done.
        """
        deadline = _monotonic() + self.busy_timeout
        pause = 0.005
        while True:
            try:
                step()
                return
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or _monotonic() >= deadline:
                    raise
            _sleep(pause)
            pause = min(pause * 2, 0.1)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection (call once no thread uses the store any more)."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- reading -------------------------------------------------------------------

    def runs(
        self,
        pipeline: str | None = None,
        status: str | None = None,
        limit: int = 50,
        updated_since: float | None = None,
    ) -> list[RunRecord]:
        """Recent runs, newest first, optionally of one pipeline and/or one status."""
        limit = max(1, min(limit, MAX_LIMIT))
        where, params = _filters(pipeline, status)
        if updated_since is not None:
            where.append("runs.updated_at > ?")
            params.append(updated_since)
        sql = _FROM + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.connection().execute(
            f"SELECT {_RUN_COLUMNS}{sql} ORDER BY runs.started_at DESC, runs.id DESC LIMIT ?",
            (*params, limit),
        )
        now = self.clock.time()
        return [RunRecord.from_row(row, now) for row in rows]

    def run(self, run_id: str) -> RunRecord | None:
        """One run with its nodes (in spec order), edges, spec and graph; None if unknown."""
        conn = self.connection()
        row = conn.execute(
            f"SELECT {_RUN_COLUMNS}, runs.spec, runs.graph{_FROM} WHERE runs.id = ?", (run_id,)
        ).fetchone()
        if row is None:
            return None
        record = RunRecord.from_row(row, self.clock.time())
        nodes = {
            node.name: node
            for node in map(
                NodeFigures.from_row,
                conn.execute(
                    "SELECT * FROM run_nodes WHERE run_id = ? ORDER BY position", (run_id,)
                ),
            )
        }
        edges = [
            EdgeFigures(
                r["source"],
                r["target"],
                r["kind"],
                r["capacity"],
                r["depth"],
                r["peak_depth"],
                r["dropped"],
            )
            for r in conn.execute(
                "SELECT * FROM run_edges WHERE run_id = ? ORDER BY position", (run_id,)
            )
        ]
        return replace(record, nodes=nodes, edges=edges)

    def logs(self, run_id: str, after: int = 0, limit: int = MAX_RECORDS) -> RunLogs | None:
        """A run's saved log records numbered above ``after`` (at most ``limit``, in order),
        with how many were dropped or cut; None if the run is unknown."""
        conn = self.connection()
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            return None
        return read_logs(conn, run_id, after, limit)

    def find(self, prefix: str) -> list[str]:
        """Ids of the runs whose id starts with ``prefix`` (at most 10)."""
        if not prefix or not all(c in "0123456789abcdef" for c in prefix.lower()):
            return []
        rows = self.connection().execute(
            "SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 10",
            (prefix.lower(), prefix.lower() + "g"),
        )
        return [row[0] for row in rows]

    def status_of(self, run_id: str) -> str | None:
        """A run's status, or None if unknown."""
        row = (
            self.connection().execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        )
        return None if row is None else str(row[0])

    def workers(self, limit: int = 100) -> list[WorkerRecord]:
        """Workers, online first, then by latest heartbeat."""
        rows = self.connection().execute(
            "SELECT * FROM workers ORDER BY status = 'online' DESC, last_heartbeat DESC LIMIT ?",
            (max(1, min(limit, MAX_LIMIT)),),
        )
        return [WorkerRecord.from_row(row) for row in rows]

    def worker(self, worker_id: str) -> WorkerRecord | None:
        """One worker by id."""
        row = (
            self.connection().execute("SELECT * FROM workers WHERE id = ?", (worker_id,)).fetchone()
        )
        return None if row is None else WorkerRecord.from_row(row)

    def counts(self) -> dict[tuple[str, str], int]:
        """How many runs each (pipeline, status) has."""
        rows = self.connection().execute(
            "SELECT pipeline, status, COUNT(*) FROM runs GROUP BY pipeline, status"
        )
        return {(row[0], row[1]): row[2] for row in rows}

    def online_workers(self) -> int:
        """How many workers are online."""
        (count,) = (
            self.connection()
            .execute("SELECT COUNT(*) FROM workers WHERE status = 'online'")
            .fetchone()
        )
        return int(count)

    def changed_runs(self, since: float, limit: int = 1000) -> list[dict[str, Any]]:
        """Runs whose record changed at or after ``since`` (oldest change first), each with
        its nodes' counters and edges' depths: what the metrics feed needs, in 3 queries."""
        runs = [
            dict(row)
            for row in self.connection().execute(
                "SELECT id, pipeline, status, started_at, duration, updated_at FROM runs"
                " WHERE updated_at >= ? ORDER BY updated_at LIMIT ?",
                (since, max(1, min(limit, MAX_LIMIT))),
            )
        ]
        if not runs:
            return []
        by_id = {run["id"]: run for run in runs}
        for run in runs:
            run["nodes"], run["edges"] = {}, []
        marks = ", ".join("?" * len(by_id))
        for row in self.connection().execute(
            "SELECT run_id, node, received, emitted, failed, retried FROM run_nodes"
            f" WHERE run_id IN ({marks})",
            list(by_id),
        ):
            by_id[row["run_id"]]["nodes"][row["node"]] = dict(row)
        for row in self.connection().execute(
            f"SELECT run_id, source, target, depth FROM run_edges WHERE run_id IN ({marks})",
            list(by_id),
        ):
            by_id[row["run_id"]]["edges"].append(dict(row))
        return runs

    # -- changing ------------------------------------------------------------------

    def reap(self, now: float | None = None) -> writes.Reaped:
        """Crash detection now (see :func:`.writes.reap`); returns what changed."""
        with self.transaction() as conn:
            return writes.reap(conn, self.clock.time() if now is None else now)

    def transition(
        self,
        run_id: str,
        status: str,
        from_statuses: Iterable[str] = (RUNNING,),
        error: str | None = None,
        error_type: str | None = None,
    ) -> bool:
        """Move a run to ``status`` only if it is in ``from_statuses`` (never from a finished one)."""
        with self.transaction() as conn:
            return writes.transition(
                conn, run_id, status, self.clock.time(), from_statuses, error, error_type
            )

    def prune(
        self,
        keep: int | None = None,
        older_than: float | None = None,
        pipeline: str | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Delete old runs by the policy of :mod:`.prune`; return their ids (oldest first)."""
        now = self.clock.time()
        if dry_run:
            return runs_to_prune(self.connection(), now, keep, older_than, pipeline)
        with self.transaction() as conn:
            return prune(conn, now, keep, older_than, pipeline)


def _filters(pipeline: str | None, status: str | None) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    if pipeline is not None:
        where.append("runs.pipeline = ?")
        params.append(pipeline)
    if status is not None:
        where.append("runs.status = ?")
        params.append(status)
    return where, params


# Module-level, so tests can run the lock retry without real sleeps.
_monotonic = time.monotonic
_sleep = time.sleep


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    message = str(exc)
    return "locked" in message or "busy" in message


def _set_up(conn: sqlite3.Connection) -> None:
    """Put a new connection in WAL mode and bring the schema up to date."""
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    if mode.lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable, no fsync per commit
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn)
