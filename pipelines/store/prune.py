"""Pruning history: which runs to delete (durations like ``7d``: :mod:`pipelines.spec.durations`).

The policy (docs/store.md): a run that is still ``running`` is never deleted.
``keep=N`` deletes the runs of each pipeline beyond its N newest (by start);
``older_than=S`` deletes runs that ended more than S seconds ago. Given
both, a run is deleted only when both say so ("older than a week, but
always keep the last 10"). Deleting a run deletes its node and edge
figures; workers that are offline and have no run left go too.
"""

from __future__ import annotations

import sqlite3

from .status import RUNNING

__all__ = ["DEFAULT_KEEP", "KEEP_ENV", "prune", "runs_to_prune"]

#: Runs kept per pipeline when a recorder prunes after each run
#: (``PIPELINES_KEEP_RUNS``; 0 keeps everything).
DEFAULT_KEEP = 1000
KEEP_ENV = "PIPELINES_KEEP_RUNS"


def runs_to_prune(
    conn: sqlite3.Connection,
    now: float,
    keep: int | None = None,
    older_than: float | None = None,
    pipeline: str | None = None,
) -> list[str]:
    """Ids of the runs the policy deletes (see the module doc), oldest first."""
    if keep is None and older_than is None:
        raise ValueError("say what to prune: keep=N and/or older_than=SECONDS")
    if keep is not None and keep < 0:
        raise ValueError(f"keep must be 0 or more, got {keep}")
    cutoff = None if older_than is None else now - older_than
    rows = conn.execute(
        "SELECT id FROM ("
        "  SELECT id, status, started_at, ended_at, ROW_NUMBER() OVER"
        "    (PARTITION BY pipeline ORDER BY started_at DESC, id DESC) AS newest"
        "  FROM runs WHERE (:pipeline IS NULL OR pipeline = :pipeline)"
        ") WHERE status != :running"
        " AND (:keep IS NULL OR newest > :keep)"
        " AND (:cutoff IS NULL OR COALESCE(ended_at, started_at) < :cutoff)"
        " ORDER BY started_at",
        {"pipeline": pipeline, "running": RUNNING, "keep": keep, "cutoff": cutoff},
    ).fetchall()
    return [row[0] for row in rows]


def prune(
    conn: sqlite3.Connection,
    now: float,
    keep: int | None = None,
    older_than: float | None = None,
    pipeline: str | None = None,
) -> list[str]:
    """Delete what :func:`runs_to_prune` names (in the caller's transaction); return the ids."""
    doomed = runs_to_prune(conn, now, keep, older_than, pipeline)
    for start in range(0, len(doomed), 500):  # SQLite limits the parameters of one statement
        chunk = doomed[start : start + 500]
        conn.execute(f"DELETE FROM runs WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
    conn.execute(
        "DELETE FROM workers WHERE status = 'offline'"
        " AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.worker_id = workers.id)"
    )
    return doomed
