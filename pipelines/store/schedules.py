"""Schedules in the store: each one's cursor, and every occurrence's fate.

A schedule's ``cursor`` says up to which time every occurrence has been
accounted for; the ``occurrences`` table says how (started with its run id,
queued, skipped with a reason, late). An occurrence's row is keyed by
``(schedule, due_at)``: inserting it is the claim, so two servers on one
store can never start the same occurrence twice (the second INSERT fails,
and its whole tick is rolled back). Consecutive skips for the same reason
share one row (``due_at`` .. ``last_due``, ``count``), so a long overlap or
a disabled schedule costs one row, not one per occurrence.

Every function here works inside the caller's transaction; each change of
fate is conditional (``WHERE fate = ...``), as run statuses are.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from . import writes
from .encoding import bounded, canonical
from .schedule_records import QUEUED, SKIPPED, STARTED, Occurrence, ScheduleRecord, ScheduleRow
from .status import LATE, ONLINE, RUNNING
from .writes import RunStart

__all__ = [
    "KEEP_OCCURRENCES",
    "active_runs",
    "claim",
    "definitions",
    "get",
    "has_queued",
    "insert_late_run",
    "list_records",
    "lost_starts",
    "move",
    "occurrences",
    "prune_occurrences",
    "queued",
    "record",
    "register",
    "set_cursor",
    "set_paused",
    "skip",
    "unstart",
]

#: Occurrence rows kept per schedule (queued ones are never pruned).
KEEP_OCCURRENCES = 1000

_OCCURRENCE_COLUMNS = (
    "o.schedule, o.due_at, o.last_due, o.count, o.fate, o.reason, o.run_id, o.worker_id,"
    " o.decided_at, o.updated_at, r.status AS run_status"
)
_OCCURRENCES = (
    f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences o LEFT JOIN runs r ON r.id = o.run_id"
)


def register(
    conn: sqlite3.Connection,
    name: str,
    definition: dict[str, Any],
    description: str,
    spec_hash: str,
    enabled: bool,
    now: float,
) -> ScheduleRow:
    """Add a schedule (its cursor starts now: nothing before it is owed) or update its
    definition, keeping its cursor; return it."""
    conn.execute(
        "INSERT INTO schedules (name, definition, description, spec_hash, enabled, cursor,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,"
        " description = excluded.description, spec_hash = excluded.spec_hash,"
        " enabled = excluded.enabled, updated_at = excluded.updated_at",
        (name, canonical(definition), description, spec_hash, int(enabled), now, now, now),
    )
    row = get(conn, name)
    assert row is not None
    return row


def get(conn: sqlite3.Connection, name: str) -> ScheduleRow | None:
    """One schedule, or None."""
    row = conn.execute("SELECT * FROM schedules WHERE name = ?", (name,)).fetchone()
    return None if row is None else ScheduleRow.from_row(row)


def set_paused(conn: sqlite3.Connection, name: str, paused: bool, now: float) -> ScheduleRow | None:
    """Pause a schedule (its occurrences are skipped, reason ``paused``, until it is
    resumed) or resume it; pausing a paused one keeps its first pause time. None if
    the store has no such schedule."""
    conn.execute(
        "UPDATE schedules SET paused_at = CASE WHEN ? THEN COALESCE(paused_at, ?) END,"
        " updated_at = ? WHERE name = ?",
        (int(paused), now, now, name),
    )
    return get(conn, name)


def set_cursor(
    conn: sqlite3.Connection,
    name: str,
    cursor: float,
    next_at: float | None,
    worker_id: str | None,
    now: float,
) -> None:
    """Every occurrence up to ``cursor`` is accounted for; the next one is at ``next_at``."""
    conn.execute(
        "UPDATE schedules SET cursor = MAX(cursor, ?), next_at = ?, worker_id = ?, updated_at = ?"
        " WHERE name = ?",
        (cursor, next_at, worker_id, now, name),
    )


def claim(
    conn: sqlite3.Connection,
    name: str,
    due: float,
    fate: str,
    worker_id: str | None,
    now: float,
    run_id: str | None = None,
) -> bool:
    """Claim one occurrence as ``started`` (with its run id), ``queued`` or ``late``.

    False if it was claimed already (by another server): then it is not this
    caller's to start. The primary key makes this atomic whatever the timing.
    """
    done = conn.execute(
        "INSERT INTO occurrences (schedule, due_at, last_due, count, fate, run_id, worker_id,"
        " decided_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)"
        " ON CONFLICT (schedule, due_at) DO NOTHING",
        (name, due, due, fate, run_id, worker_id, now, now),
    )
    return done.rowcount == 1


def skip(
    conn: sqlite3.Connection,
    name: str,
    first: float,
    last: float,
    count: int | None,
    reason: str,
    worker_id: str | None,
    now: float,
) -> None:
    """Record that the occurrences ``first`` .. ``last`` (``count`` of them) were skipped.

    Joins the schedule's latest row when it is a skip for the same reason.
    """
    latest = conn.execute(
        "SELECT due_at, fate, reason, count FROM occurrences WHERE schedule = ?"
        " ORDER BY due_at DESC LIMIT 1",
        (name,),
    ).fetchone()
    if latest is not None and latest["fate"] == SKIPPED and latest["reason"] == reason:
        total = None if count is None or latest["count"] is None else latest["count"] + count
        conn.execute(
            "UPDATE occurrences SET last_due = ?, count = ?, worker_id = ?, updated_at = ?"
            " WHERE schedule = ? AND due_at = ?",
            (last, total, worker_id, now, name, latest["due_at"]),
        )
        return
    conn.execute(
        "INSERT INTO occurrences (schedule, due_at, last_due, count, fate, reason, worker_id,"
        " decided_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (name, first, last, count, SKIPPED, reason, worker_id, now, now),
    )


def move(
    conn: sqlite3.Connection,
    name: str,
    due: float,
    from_fate: str,
    fate: str,
    now: float,
    *,
    reason: str | None = None,
    run_id: str | None = None,
    worker_id: str | None = None,
) -> bool:
    """Change one occurrence's fate only if it is ``from_fate``; True if it changed."""
    done = conn.execute(
        "UPDATE occurrences SET fate = ?, reason = ?, run_id = COALESCE(?, run_id),"
        " worker_id = COALESCE(?, worker_id), updated_at = ?"
        " WHERE schedule = ? AND due_at = ? AND fate = ?",
        (fate, reason, run_id, worker_id, now, name, due, from_fate),
    )
    return done.rowcount == 1


def unstart(
    conn: sqlite3.Connection,
    name: str,
    due: float,
    fate: str,
    now: float,
    reason: str | None = None,
) -> bool:
    """An occurrence claimed as started whose run was never recorded: back to ``queued``, or
    ``skipped`` for ``reason``; it has no run. Only while no run of its id is in the store."""
    done = conn.execute(
        "UPDATE occurrences SET fate = ?, reason = ?, run_id = NULL, updated_at = ?"
        " WHERE schedule = ? AND due_at = ? AND fate = ?"
        " AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = occurrences.run_id)",
        (fate, reason, now, name, due, STARTED),
    )
    return done.rowcount == 1


def queued(conn: sqlite3.Connection, name: str) -> list[Occurrence]:
    """The occurrences waiting for the previous run, oldest first."""
    rows = conn.execute(
        f"{_OCCURRENCES} WHERE o.schedule = ? AND o.fate = ? ORDER BY o.due_at", (name, QUEUED)
    )
    return [Occurrence.from_row(row) for row in rows]


def has_queued(conn: sqlite3.Connection, name: str) -> bool:
    """True if an occurrence of the schedule waits in its queue."""
    row = conn.execute(
        "SELECT 1 FROM occurrences WHERE schedule = ? AND fate = ? LIMIT 1", (name, QUEUED)
    ).fetchone()
    return row is not None


def active_runs(conn: sqlite3.Connection, name: str, pipeline: str, since: float) -> set[str]:
    """Runs of ``pipeline`` that are live: ``running`` in the store, whoever started them, and
    runs this schedule started since ``since`` whose record is not written yet (by a worker
    still online): a run's record follows its claim within moments."""
    rows = conn.execute(
        "SELECT id FROM runs WHERE pipeline = ? AND status = ?"
        " UNION SELECT o.run_id FROM occurrences o JOIN workers w ON w.id = o.worker_id"
        " WHERE o.schedule = ? AND o.fate = ? AND w.status = ? AND o.decided_at >= ?"
        " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = o.run_id)",
        (pipeline, RUNNING, name, STARTED, ONLINE, since),
    )
    return {row[0] for row in rows}


def lost_starts(
    conn: sqlite3.Connection, name: str, before: float
) -> list[tuple[Occurrence, bool]]:
    """Occurrences claimed as started whose run was never recorded, and never will be: their
    worker went offline (True), or they were claimed before ``before`` (False)."""
    rows = conn.execute(
        f"{_OCCURRENCES.replace('SELECT ', 'SELECT w.status AS worker_status, ', 1)}"
        " LEFT JOIN workers w ON w.id = o.worker_id"
        " WHERE o.schedule = ? AND o.fate = ? AND r.id IS NULL"
        " AND (w.id IS NULL OR w.status != ? OR o.decided_at < ?)",
        (name, STARTED, ONLINE, before),
    )
    return [(Occurrence.from_row(row), row["worker_status"] != ONLINE) for row in rows]


def insert_late_run(
    conn: sqlite3.Connection,
    *,
    run_id: str,
    pipeline: str,
    due: float,
    now: float,
    worker_id: str | None,
    spec_hash: str,
    parameters: dict[str, Any],
    message: str,
    template: RunStart | None = None,
) -> None:
    """The record of a scheduled run that never started: status ``late``, started at its
    scheduled time, ended when it was found late, no duration, nothing counted.

    With ``template`` (the first record its run would have had), it has the
    run's spec, nodes, edges and diagram, and reaches ``late`` through the
    conditional transition every status change takes; without one (a
    watchdog that does not host the pipeline), only its name and spec hash.
    """
    if template is not None:
        writes.insert_run(
            conn,
            dataclasses.replace(
                template, run_id=run_id, started_at=due, worker_id=worker_id, trigger="schedule"
            ),
        )
        writes.transition(conn, run_id, LATE, now, (RUNNING,), bounded(message), "Late")
        conn.execute("UPDATE runs SET duration = NULL WHERE id = ?", (run_id,))
        return
    conn.execute(
        "INSERT INTO runs (id, pipeline, status, trigger, worker_id, started_at, ended_at,"
        " updated_at, progress_at, spec_hash, parameters, error_type, error_message)"
        " VALUES (?, ?, ?, 'schedule', ?, ?, ?, ?, ?, ?, ?, 'Late', ?)",
        (
            run_id,
            pipeline,
            LATE,
            worker_id,
            due,
            now,
            now,
            due,
            spec_hash,
            canonical(parameters),
            bounded(message),
        ),
    )


def prune_occurrences(conn: sqlite3.Connection, name: str, keep: int = KEEP_OCCURRENCES) -> int:
    """Delete the schedule's rows beyond its ``keep`` newest (never queued ones); how many."""
    done = conn.execute(
        "DELETE FROM occurrences WHERE schedule = ? AND fate != ? AND due_at < ("
        "  SELECT due_at FROM occurrences WHERE schedule = ?"
        "  ORDER BY due_at DESC LIMIT 1 OFFSET ?)",
        (name, QUEUED, name, max(keep, 1) - 1),
    )
    return done.rowcount


# -- reading ---------------------------------------------------------------------------


def occurrences(conn: sqlite3.Connection, name: str, limit: int = 50) -> list[Occurrence]:
    """A schedule's latest occurrences (and ranges of skips), newest first."""
    rows = conn.execute(
        f"{_OCCURRENCES} WHERE o.schedule = ? ORDER BY o.due_at DESC LIMIT ?",
        (name, max(1, limit)),
    )
    return [Occurrence.from_row(row) for row in rows]


def record(conn: sqlite3.Connection, name: str, recent: int = 0) -> ScheduleRecord | None:
    """One schedule for people, with its ``recent`` latest occurrences."""
    row = get(conn, name)
    if row is None:
        return None
    latest = occurrences(conn, name, max(1, recent))
    started = conn.execute(
        f"{_OCCURRENCES} WHERE o.schedule = ? AND o.fate = ? ORDER BY o.due_at DESC LIMIT 1",
        (name, STARTED),
    ).fetchone()
    (waiting,) = conn.execute(
        "SELECT COUNT(*) FROM occurrences WHERE schedule = ? AND fate = ?", (name, QUEUED)
    ).fetchone()
    worker = (
        conn.execute("SELECT name, status FROM workers WHERE id = ?", (row.worker_id,)).fetchone()
        if row.worker_id
        else None
    )
    return ScheduleRecord(
        row=row,
        last=latest[0] if latest else None,
        last_run=Occurrence.from_row(started) if started is not None else None,
        queued=int(waiting),
        worker=worker["name"] if worker is not None else None,
        worker_status=worker["status"] if worker is not None else None,
        recent=latest[:recent] if recent else [],
    )


def list_records(conn: sqlite3.Connection, recent: int = 0) -> list[ScheduleRecord]:
    """Every schedule, by name."""
    names = [row[0] for row in conn.execute("SELECT name FROM schedules ORDER BY name")]
    found = (record(conn, name, recent) for name in names)
    return [item for item in found if item is not None]


def definitions(conn: sqlite3.Connection) -> Iterable[tuple[str, dict[str, Any], str]]:
    """Each schedule's name, definition and spec hash."""
    for row in conn.execute("SELECT name, definition, spec_hash FROM schedules"):
        yield row[0], json.loads(row[1]), row[2]
