"""The watchdog: runs that take too long, stall, or never start are ended, never left to pile up.

One check (:meth:`Watchdog.check`) is one store transaction:

1. crash detection (a run whose worker stopped heartbeating is ``crashed``);
2. every ``running`` run against its pipeline's limits (the ``watchdog:``
   of the spec it runs, as recorded with the run, else the watchdog's
   defaults): longer than ``run_timeout`` since it started -> ``timed_out``;
   no item moved for ``stall_timeout`` -> ``stalled``, naming what each link
   held, as :class:`~pipelines.GraphStalled` does;
3. every queued occurrence of a schedule whose ``late_after`` has passed
   since its time -> ``late`` (a run record with that status; it never starts).

Every change is conditional (``WHERE status = 'running'``, ``WHERE fate =
'queued'``): a run that finished meanwhile is never changed, a crashed run
is never timed out, and two watchdogs never both act on one run. The
process running a run that was timed out or stalled stops it at its next
heartbeat (:meth:`pipelines.store.Recorder.beat`); ``pipelines serve`` stops
its own hosted runs at once. Runs in ``pipelines serve`` every few seconds,
and as ``pipelines watchdog --once`` from cron.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..runtime.clock import Clock
from ..spec.limits import NO_LIMITS, WatchdogSpec, parse_watchdog
from ..store import schedules as book
from ..store import writes
from ..store.db import Store
from ..store.encoding import iso
from ..store.recorder import new_run_id
from ..store.schedule_records import LATE as LATE_FATE
from ..store.schedule_records import QUEUED
from ..store.status import CRASHED, RUNNING, STALLED, TIMED_OUT
from .scheduler import late_message

__all__ = ["DEFAULT_INTERVAL", "Report", "Verdict", "Watchdog", "judge", "span", "stall_lines"]

#: Seconds between two checks inside ``pipelines serve``.
DEFAULT_INTERVAL = 5.0
_CACHE = 256  # spec hashes whose limits are remembered


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the watchdog did to one run: its new ``status`` and why."""

    run_id: str
    pipeline: str
    status: str
    message: str

    def as_json(self) -> dict[str, Any]:
        """Plain data (``pipelines watchdog --json``)."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "message": self.message,
        }


@dataclass(slots=True)
class Report:
    """One check: the verdicts, and how many live runs and queued occurrences it looked at."""

    verdicts: list[Verdict] = field(default_factory=list)
    checked: int = 0
    queued: int = 0
    time: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """Plain data (``pipelines watchdog --json``)."""
        return {
            "time": iso(self.time),
            "checked": self.checked,
            "queued": self.queued,
            "verdicts": [verdict.as_json() for verdict in self.verdicts],
        }


def span(seconds: float) -> str:
    """A duration for a message: ``42 s``, ``5m 03s``, ``2h 00m 03s``."""
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s"


def judge(
    started_at: float, progress_at: float, limits: WatchdogSpec, now: float
) -> tuple[str, str] | None:
    """The status a live run deserves now, and why; None if it is within its limits.

    ``run_timeout`` is checked before ``stall_timeout``: a run over both is ``timed_out``.
    """
    ran = now - started_at
    if limits.run_timeout is not None and ran > limits.run_timeout:
        return TIMED_OUT, (
            f"timed out: ran {span(ran)}, longer than run_timeout ({span(limits.run_timeout)});"
            " stopped by the watchdog"
        )
    idle = now - progress_at
    if limits.stall_timeout is not None and idle > limits.stall_timeout:
        return STALLED, (
            f"stalled: no item moved for {span(idle)} (stall_timeout"
            f" {span(limits.stall_timeout)}); stopped by the watchdog"
        )
    return None


def stall_lines(edges: list[dict[str, Any]], states: dict[str, str]) -> list[str]:
    """What each link of a stalled run held, named as :class:`~pipelines.GraphStalled` names
    them (``a->b: full (8 items), its producer waits for space``), for links into nodes
    that had not finished."""
    lines = set()
    for edge in edges:
        if states.get(edge["target"]) not in ("waiting", "running"):
            continue
        name = f"{edge['source']}->{edge['target']}"
        capacity, depth = edge["capacity"], edge["depth"]
        if capacity and depth >= capacity:
            lines.add(f"{name}: full ({capacity} items), its producer waits for space")
        else:
            lines.add(f"{name}: waits for an item ({depth} queued)")
    return sorted(lines)


class Watchdog:
    """Checks the runs of ``store`` (of one ``pipeline``, or all) against their limits.

    ``defaults`` apply where a run's spec sets no limit (``pipelines
    watchdog --run-timeout 2h``...). ``clock`` defaults to the store's.
    """

    def __init__(
        self,
        store: Store,
        *,
        defaults: WatchdogSpec = NO_LIMITS,
        pipeline: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.defaults = defaults
        self.pipeline = pipeline
        self.clock = clock or store.clock
        self._limits: dict[str, WatchdogSpec] = {}

    def check(self) -> Report:
        """One pass (blocking: run it off the event loop); the verdicts it gave."""
        now = self.clock.time()
        report = Report(time=now)
        with self.store.transaction() as conn:
            reaped = writes.reap(conn, now)
            report.verdicts += self._crashed(conn, reaped.runs)
            where, params = "status = ?", [RUNNING]
            if self.pipeline is not None:
                where += " AND pipeline = ?"
                params.append(self.pipeline)
            live = conn.execute(
                "SELECT id, pipeline, started_at, progress_at, spec_hash, spec FROM runs"
                f" WHERE {where}",
                params,
            ).fetchall()
            report.checked = len(live)
            for row in live:
                limits = self._limits_of(row).or_else(self.defaults)
                found = judge(row["started_at"], row["progress_at"], limits, now)
                if found is None:
                    continue
                status, message = found
                if status == STALLED:
                    message += "".join(f"\n  - {line}" for line in self._links(conn, row["id"]))
                kind = "TimedOut" if status == TIMED_OUT else "Stalled"
                if writes.transition(conn, row["id"], status, now, (RUNNING,), message, kind):
                    report.verdicts.append(Verdict(row["id"], row["pipeline"], status, message))
            report.verdicts += self._late(conn, now, report)
        return report

    # -- parts of a check --------------------------------------------------------------

    def _crashed(self, conn: sqlite3.Connection, run_ids: list[str]) -> list[Verdict]:
        verdicts = []
        for run_id in run_ids:
            row = conn.execute("SELECT pipeline FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None and (self.pipeline is None or row[0] == self.pipeline):
                verdicts.append(Verdict(run_id, row[0], CRASHED, "its worker stopped heartbeating"))
        return verdicts

    def _limits_of(self, row: sqlite3.Row) -> WatchdogSpec:
        key = row["spec_hash"]
        if key in self._limits:
            return self._limits[key]
        limits = NO_LIMITS
        if row["spec"]:
            try:
                spec = json.loads(row["spec"])
            except ValueError:
                spec = None
            if isinstance(spec, dict):
                problems: list[Problem] = []  # a stored spec was valid when it ran
                limits = parse_watchdog(spec.get("watchdog"), problems)
        if len(self._limits) >= _CACHE:
            self._limits.clear()
        self._limits[key] = limits
        return limits

    @staticmethod
    def _links(conn: sqlite3.Connection, run_id: str) -> list[str]:
        states = {
            row[0]: row[1]
            for row in conn.execute("SELECT node, state FROM run_nodes WHERE run_id = ?", (run_id,))
        }
        edges = [
            dict(row)
            for row in conn.execute(
                "SELECT source, target, capacity, depth FROM run_edges WHERE run_id = ?"
                " ORDER BY position",
                (run_id,),
            )
        ]
        return stall_lines(edges, states)

    def _late(self, conn: sqlite3.Connection, now: float, report: Report) -> list[Verdict]:
        verdicts = []
        for name, definition, spec_hash in list(book.definitions(conn)):
            if self.pipeline is not None and name != self.pipeline:
                continue
            limits = definition.get("watchdog") or {}
            late_after = limits.get("late_after", self.defaults.late_after)
            waiting = book.queued(conn, name)
            report.queued += len(waiting)
            if late_after is None:
                continue
            for occurrence in waiting:
                if now - occurrence.due_at <= late_after:
                    continue
                run_id = new_run_id()
                if not book.move(
                    conn, name, occurrence.due_at, QUEUED, LATE_FATE, now, run_id=run_id
                ):
                    continue
                message = late_message(
                    occurrence.due_at, late_after, now, "the previous run was still running"
                )
                book.insert_late_run(
                    conn,
                    run_id=run_id,
                    pipeline=name,
                    due=occurrence.due_at,
                    now=now,
                    worker_id=None,
                    spec_hash=spec_hash,
                    parameters=dict(definition.get("parameters") or {}),
                    message=message,
                )
                verdicts.append(Verdict(run_id, name, LATE_FATE, message))
        return verdicts
