"""What the store gives back about schedules: each schedule and each occurrence's fate.

The JSON names are the HTTP API's contract (``GET /api/schedules``,
docs/server.md): times in ISO 8601 (UTC).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from .encoding import iso

__all__ = [
    "FATES",
    "LATE",
    "QUEUED",
    "SKIPPED",
    "STARTED",
    "Occurrence",
    "ScheduleRecord",
    "ScheduleRow",
]

#: An occurrence waits for the previous run to end (``overlap: queue``).
QUEUED = "queued"
#: An occurrence started its run (``run_id``).
STARTED = "started"
#: An occurrence did not run, for ``reason`` (overlap, catchup, disabled, paused...).
SKIPPED = "skipped"
#: An occurrence could not start within ``late_after`` of its time (a run with status ``late``).
LATE = "late"
FATES = (QUEUED, STARTED, SKIPPED, LATE)


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One schedule as the store keeps it."""

    name: str
    definition: dict[str, Any]
    description: str
    spec_hash: str
    enabled: bool
    cursor: float
    next_at: float | None
    created_at: float
    updated_at: float
    worker_id: str | None
    paused_at: float | None = None  # when `pipelines schedules pause` paused it

    @property
    def runs(self) -> bool:
        """Whether its occurrences start runs: enabled in the spec and not paused."""
        return self.enabled and self.paused_at is None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ScheduleRow:
        """From a ``schedules`` row."""
        return cls(
            name=row["name"],
            definition=json.loads(row["definition"]),
            description=row["description"],
            spec_hash=row["spec_hash"],
            enabled=bool(row["enabled"]),
            cursor=row["cursor"],
            next_at=row["next_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            worker_id=row["worker_id"],
            paused_at=row["paused_at"],
        )


@dataclass(frozen=True, slots=True)
class Occurrence:
    """The fate of one occurrence, or of a range of skipped ones (``count`` of them).

    ``run_status`` is the status of its run (started or late), when the run
    is still in the store.
    """

    schedule: str
    due_at: float
    last_due: float
    count: int | None
    fate: str
    reason: str | None
    run_id: str | None
    worker_id: str | None
    decided_at: float
    updated_at: float
    run_status: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Occurrence:
        """From an ``occurrences`` row (with ``run_status`` when the query joined it)."""
        keys = row.keys()
        return cls(
            schedule=row["schedule"],
            due_at=row["due_at"],
            last_due=row["last_due"],
            count=row["count"],
            fate=row["fate"],
            reason=row["reason"],
            run_id=row["run_id"],
            worker_id=row["worker_id"],
            decided_at=row["decided_at"],
            updated_at=row["updated_at"],
            run_status=row["run_status"] if "run_status" in keys else None,
        )

    @property
    def outcome(self) -> str:
        """What happened, in one word or two: the run's status, ``skipped: overlap``, ``queued``."""
        if self.fate == SKIPPED:
            return f"skipped: {self.reason}"
        if self.fate == STARTED:
            return self.run_status or "started"
        return self.fate

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "schedule": self.schedule,
            "due_at": iso(self.due_at),
            "last_due": iso(self.last_due),
            "count": self.count,
            "fate": self.fate,
            "reason": self.reason,
            "run_id": self.run_id,
            "run_status": self.run_status,
            "decided_at": iso(self.decided_at),
        }


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A schedule for people: when it runs next, what happened last, who runs it."""

    row: ScheduleRow
    last: Occurrence | None  # the latest occurrence (or range of skips)
    last_run: Occurrence | None  # the latest one that started a run
    queued: int
    worker: str | None  # the name of the worker that last took its occurrences
    worker_status: str | None
    recent: list[Occurrence] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The schedule's (and its pipeline's) name."""
        return self.row.name

    @property
    def last_status(self) -> str | None:
        """The outcome of the latest occurrence (see :attr:`Occurrence.outcome`)."""
        return self.last.outcome if self.last is not None else None

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        definition = self.row.definition
        return {
            "name": self.row.name,
            "pipeline": self.row.name,
            "schedule": self.row.description,
            "enabled": self.row.enabled,
            "paused": self.row.paused_at is not None,
            "paused_at": iso(self.row.paused_at) if self.row.paused_at is not None else None,
            "definition": definition,
            "next_at": iso(self.row.next_at) if self.row.runs else None,
            "last_at": iso(self.last.last_due) if self.last is not None else None,
            "last_status": self.last_status,
            "last_run": self.last_run.run_id if self.last_run is not None else None,
            "last_run_at": iso(self.last_run.due_at) if self.last_run is not None else None,
            "last_run_status": self.last_run.outcome if self.last_run is not None else None,
            "queued": self.queued,
            "worker": self.worker,
            "worker_status": self.worker_status,
            "updated_at": iso(self.row.updated_at),
            "recent": [occurrence.as_json() for occurrence in self.recent],
        }
