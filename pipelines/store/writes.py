"""Every change the store makes, as functions of an open transaction.

Each state change is conditional: a run's status moves only from the
statuses named in its ``WHERE`` clause, so a finished run is never rewritten
(a crash detector only touches ``running`` runs; a run's final figures land
only while it is ``running``, or ``crashed`` by a detector and reported by
its own, still living, worker).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .records import WorkerRecord
from .status import CRASHED, FINISHED, MISSED_HEARTBEATS, OFFLINE, ONLINE, RUNNING

__all__ = [
    "Reaped",
    "RunEnd",
    "RunStart",
    "Snapshot",
    "deregister",
    "finish_run",
    "heartbeat",
    "insert_run",
    "reap",
    "register_worker",
    "statuses",
    "transition",
    "write_snapshot",
]

#: A node's row after ``run_id, node``: state, the figures of
#: :data:`~.records.NODE_FIGURES`, last error.
NodeRow = tuple[Any, ...]
#: Columns a figure in :data:`NodeRow` moves an item in: received, emitted, failed, dropped.
_MOVES = (1, 2, 3, 5)


@dataclass(slots=True)
class RunStart:
    """A run's first record: who, what, and its nodes and edges with nothing counted yet."""

    run_id: str
    pipeline: str
    trigger: str
    worker_id: str | None
    started_at: float
    spec: str | None
    spec_hash: str
    spec_path: str | None
    version: str | None
    parameters: str
    graph: str | None
    nodes: list[tuple[str, str]]  # (name, kind) in spec order
    edges: list[tuple[str, str, str, int]]  # (source, target, kind, capacity)
    cycle_of: str | None = None  # the first run of its cycles (``cycle:``), None for a plain run
    cycle: int | None = None  # its place among them, from 1


@dataclass(slots=True)
class Snapshot:
    """Every figure of a live run at ``time``: one write, however many items moved."""

    run_id: str
    time: float
    nodes: dict[str, NodeRow]
    edges: dict[tuple[str, str], tuple[int, int, int]]  # (depth, peak_depth, dropped)
    items_in: int
    items_out: int


@dataclass(slots=True)
class RunEnd:
    """A run's final status, error and figures."""

    run_id: str
    worker_id: str | None
    status: str
    ended_at: float
    duration: float
    error: tuple[str | None, str | None, str | None, str | None] | None  # node, item, type, message
    figures: Snapshot


@dataclass(slots=True)
class Reaped:
    """What one pass of crash detection changed."""

    workers: list[str] = field(default_factory=list)  # names of workers now offline
    runs: list[str] = field(default_factory=list)  # ids of runs now crashed


def insert_run(conn: sqlite3.Connection, start: RunStart) -> None:
    """Write a run's first record (status ``running``), its nodes and its edges."""
    conn.execute(
        "INSERT INTO runs (id, pipeline, status, trigger, worker_id, started_at, updated_at,"
        " progress_at, spec, spec_hash, spec_path, version, parameters, graph, cycle_of, cycle)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            start.run_id,
            start.pipeline,
            RUNNING,
            start.trigger,
            start.worker_id,
            start.started_at,
            start.started_at,
            start.started_at,
            start.spec,
            start.spec_hash,
            start.spec_path,
            start.version,
            start.parameters,
            start.graph,
            start.cycle_of,
            start.cycle,
        ),
    )
    conn.executemany(
        "INSERT INTO run_nodes (run_id, node, position, kind, state) VALUES (?, ?, ?, ?, 'waiting')",
        [(start.run_id, name, i, kind) for i, (name, kind) in enumerate(start.nodes)],
    )
    conn.executemany(
        "INSERT INTO run_edges (run_id, source, target, position, kind, capacity)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(start.run_id, s, t, i, kind, cap) for i, (s, t, kind, cap) in enumerate(start.edges)],
    )


_NODE_UPDATE = (
    "UPDATE run_nodes SET state = ?, received = ?, emitted = ?, failed = ?, retried = ?,"
    " dropped = ?, peak_depth = ?, peak_in_flight = ?, depth = ?, busy = ?, latency_p50 = ?,"
    " latency_p95 = ?, latency_max = ?, duration = ?, last_error = ? WHERE run_id = ? AND node = ?"
)
_EDGE_UPDATE = (
    "UPDATE run_edges SET depth = ?, peak_depth = ?, dropped = ?"
    " WHERE run_id = ? AND source = ? AND target = ?"
)


def _write_figures(conn: sqlite3.Connection, snap: Snapshot, previous: Snapshot | None) -> bool:
    """Write the node and edge rows that changed since ``previous``; True if an item moved."""
    before_nodes = previous.nodes if previous is not None else {}
    before_edges = previous.edges if previous is not None else {}
    moved = False
    node_rows = []
    for name, row in snap.nodes.items():
        old = before_nodes.get(name)
        if old == row:
            continue
        if old is None or any(old[i] != row[i] for i in _MOVES):
            moved = True
        node_rows.append((*row, snap.run_id, name))
    if node_rows:
        conn.executemany(_NODE_UPDATE, node_rows)
    edge_rows = [
        (*figures, snap.run_id, source, target)
        for (source, target), figures in snap.edges.items()
        if before_edges.get((source, target)) != figures
    ]
    if edge_rows:
        conn.executemany(_EDGE_UPDATE, edge_rows)
    return moved


def write_snapshot(conn: sqlite3.Connection, snap: Snapshot, previous: Snapshot | None) -> bool:
    """Write a live run's figures (only the rows that changed); False if it is no longer running."""
    done = conn.execute(
        "UPDATE runs SET updated_at = ?, items_in = ?, items_out = ? WHERE id = ? AND status = ?",
        (snap.time, snap.items_in, snap.items_out, snap.run_id, RUNNING),
    )
    if done.rowcount == 0:
        return False
    if _write_figures(conn, snap, previous):
        conn.execute("UPDATE runs SET progress_at = ? WHERE id = ?", (snap.time, snap.run_id))
    return True


def finish_run(conn: sqlite3.Connection, end: RunEnd, previous: Snapshot | None) -> bool:
    """Write a run's final status and figures; False (and nothing written) if it already ended.

    Allowed from ``running``, and from ``crashed`` when the report comes from
    the run's own worker: a crash is a conclusion drawn from silence, and the
    worker's own final report proves it wrong.
    """
    figures = end.figures
    node, item, kind, message = end.error or (None, None, None, None)
    done = conn.execute(
        "UPDATE runs SET status = ?, ended_at = ?, duration = ?, updated_at = ?, items_in = ?,"
        " items_out = ?, noticed_at = NULL, error_node = ?, error_item = ?, error_type = ?,"
        " error_message = ? WHERE id = ? AND (status = ? OR (status = ? AND worker_id IS ?))",
        (
            end.status,
            end.ended_at,
            end.duration,
            end.ended_at,
            figures.items_in,
            figures.items_out,
            node,
            item,
            kind,
            message,
            end.run_id,
            RUNNING,
            CRASHED,
            end.worker_id,
        ),
    )
    if done.rowcount == 0:
        return False
    if _write_figures(conn, figures, previous):
        conn.execute("UPDATE runs SET progress_at = ? WHERE id = ?", (end.ended_at, end.run_id))
    return True


def transition(
    conn: sqlite3.Connection,
    run_id: str,
    status: str,
    now: float,
    from_statuses: Iterable[str] = (RUNNING,),
    error: str | None = None,
    error_type: str | None = None,
) -> bool:
    """Move a run to ``status`` if it is in one of ``from_statuses``; True if it moved.

    The rule every watchdog uses: a finished status is never a starting point.
    ``error`` and ``error_type`` say why (kept in the run's error message and type).
    """
    sources = tuple(from_statuses)
    if not sources or FINISHED.intersection(sources):
        raise ValueError(f"a finished run never changes status (from {sources!r})")
    marks = ", ".join("?" * len(sources))
    done = conn.execute(
        "UPDATE runs SET status = ?, ended_at = ?, duration = MAX(0, ? - started_at),"
        " updated_at = ?, error_message = COALESCE(?, error_message),"
        f" error_type = COALESCE(?, error_type) WHERE id = ? AND status IN ({marks})",
        (status, now, now, now, error, error_type, run_id, *sources),
    )
    return done.rowcount == 1


def statuses(conn: sqlite3.Connection, run_ids: Iterable[str]) -> dict[str, str]:
    """The status of each of ``run_ids`` that is in the store."""
    ids = list(run_ids)
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):  # SQLite limits the parameters of one statement
        chunk = ids[start : start + 500]
        rows = conn.execute(
            f"SELECT id, status FROM runs WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        )
        found.update((row[0], row[1]) for row in rows)
    return found


def register_worker(conn: sqlite3.Connection, worker: WorkerRecord) -> None:
    """Add (or re-add) a worker, online, with its first heartbeat."""
    conn.execute(
        "INSERT OR REPLACE INTO workers (id, name, version, kind, host, pid, pipelines_version,"
        " started_at, last_heartbeat, heartbeat_period, status, offline_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        (
            worker.id,
            worker.name,
            worker.version,
            worker.kind,
            worker.host,
            worker.pid,
            worker.pipelines_version,
            worker.started_at,
            worker.last_heartbeat,
            worker.heartbeat_period,
            ONLINE,
        ),
    )


def heartbeat(
    conn: sqlite3.Connection, worker: WorkerRecord, now: float, live_runs: Iterable[str]
) -> list[str]:
    """Record a heartbeat; return the runs it brought back from ``crashed``.

    A worker found offline while it was alive (its process was frozen, or
    the machine slept) comes back online, and its runs that are still live
    in this process go back from ``crashed`` to ``running``.
    """
    row = conn.execute("SELECT status FROM workers WHERE id = ?", (worker.id,)).fetchone()
    if row is None:  # pruned while offline: register again
        register_worker(conn, worker)
    conn.execute(
        "UPDATE workers SET last_heartbeat = ?, status = ?, offline_at = NULL WHERE id = ?",
        (now, ONLINE, worker.id),
    )
    if row is None or row["status"] == ONLINE:
        return []
    revived = []
    for run_id in live_runs:
        done = conn.execute(
            "UPDATE runs SET status = ?, noticed_at = NULL, ended_at = NULL, duration = NULL,"
            " updated_at = ? WHERE id = ? AND status = ? AND worker_id = ?",
            (RUNNING, now, run_id, CRASHED, worker.id),
        )
        if done.rowcount:
            revived.append(run_id)
    return revived


def deregister(conn: sqlite3.Connection, worker_id: str, now: float) -> None:
    """A worker that stops cleanly goes offline at once (its unfinished runs become crashed)."""
    conn.execute(
        "UPDATE workers SET status = ?, offline_at = ? WHERE id = ? AND status = ?",
        (OFFLINE, now, worker_id, ONLINE),
    )
    _crash_runs_of_offline_workers(conn, now)


def reap(conn: sqlite3.Connection, now: float) -> Reaped:
    """Crash detection: workers silent for 3 heartbeats go offline; their running runs crash."""
    reaped = Reaped()
    silent = conn.execute(
        "SELECT id, name FROM workers WHERE status = ? AND ? - last_heartbeat > heartbeat_period * ?",
        (ONLINE, now, MISSED_HEARTBEATS),
    ).fetchall()
    for row in silent:
        conn.execute(
            "UPDATE workers SET status = ?, offline_at = ? WHERE id = ? AND status = ?",
            (OFFLINE, now, row["id"], ONLINE),
        )
        reaped.workers.append(row["name"])
    reaped.runs = _crash_runs_of_offline_workers(conn, now)
    return reaped


def _crash_runs_of_offline_workers(conn: sqlite3.Connection, now: float) -> list[str]:
    # ended_at: the last moment the run was known alive (its last figures or
    # its worker's last heartbeat); noticed_at: now.
    orphans = conn.execute(
        "SELECT runs.id, runs.started_at, runs.updated_at, workers.last_heartbeat FROM runs"
        " JOIN workers ON workers.id = runs.worker_id"
        " WHERE runs.status = ? AND workers.status = ?",
        (RUNNING, OFFLINE),
    ).fetchall()
    crashed = []
    for row in orphans:
        ended = max(row["started_at"], row["updated_at"], row["last_heartbeat"])
        done = conn.execute(
            "UPDATE runs SET status = ?, noticed_at = ?, ended_at = ?, duration = ?, updated_at = ?"
            " WHERE id = ? AND status = ?",
            (CRASHED, now, ended, ended - row["started_at"], now, row["id"], RUNNING),
        )
        if done.rowcount:
            crashed.append(row["id"])
    return crashed
