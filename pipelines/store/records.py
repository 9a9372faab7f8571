"""What the store gives back: runs, their nodes and edges, workers; and their JSON form.

The JSON names are the HTTP API's contract (docs/server.md): times in ISO 8601
(UTC), durations in seconds.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from .encoding import iso
from .status import RUNNING

__all__ = [
    "NODE_FIGURES",
    "EdgeFigures",
    "NodeFigures",
    "RunError",
    "RunRecord",
    "WorkerRecord",
]

#: Per-node figures, in the order of the ``run_nodes`` columns after ``state``.
NODE_FIGURES = (
    "received",
    "emitted",
    "failed",
    "retried",
    "dropped",
    "peak_depth",
    "peak_in_flight",
    "depth",
    "busy",
    "latency_p50",
    "latency_p95",
    "latency_max",
    "duration",
)


@dataclass(frozen=True, slots=True)
class NodeFigures:
    """One node of a recorded run: its kind, state, counters and sampled call timing."""

    name: str
    kind: str
    state: str
    received: int = 0
    emitted: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0
    peak_depth: int = 0
    peak_in_flight: int = 0
    depth: int = 0
    busy: float | None = None
    latency_p50: float | None = None
    latency_p95: float | None = None
    latency_max: float | None = None
    duration: float | None = None
    last_error: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> NodeFigures:
        """From a ``run_nodes`` row."""
        figures = {name: row[name] for name in NODE_FIGURES}
        return cls(
            name=row["node"],
            kind=row["kind"],
            state=row["state"],
            last_error=row["last_error"],
            **figures,
        )

    def as_json(self) -> dict[str, Any]:
        """The API form (the node's name is the key it is listed under)."""
        data: dict[str, Any] = {"kind": self.kind, "state": self.state}
        data.update((name, getattr(self, name)) for name in NODE_FIGURES)
        data["last_error"] = self.last_error
        return data


@dataclass(frozen=True, slots=True)
class EdgeFigures:
    """One edge of a recorded run: its link's capacity (0: unbounded), depth, peak, and
    the items its ``overflow`` policy dropped."""

    source: str
    target: str
    kind: str
    capacity: int
    depth: int
    peak_depth: int
    dropped: int = 0

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "capacity": self.capacity,
            "peak_depth": self.peak_depth,
            "depth": self.depth,
            "dropped": self.dropped,
        }


@dataclass(frozen=True, slots=True)
class RunError:
    """Why a run failed: the node, the item (short repr), the exception's type and message."""

    node: str | None
    item: str | None
    type: str | None
    message: str | None

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {"node": self.node, "item": self.item, "type": self.type, "message": self.message}


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One recorded run. ``nodes`` and ``edges`` are filled by ``Store.run`` only."""

    id: str
    pipeline: str
    status: str
    trigger: str
    started_at: float
    ended_at: float | None
    duration: float | None
    updated_at: float
    progress_at: float
    noticed_at: float | None
    worker: str | None
    worker_id: str | None
    spec_hash: str
    spec_path: str | None
    version: str | None
    parameters: dict[str, Any]
    items_in: int
    items_out: int
    error: RunError | None
    #: The first run of its cycles (``cycle:`` in the spec) and its place among them, from 1.
    cycle_of: str | None = None
    cycle: int | None = None
    nodes: dict[str, NodeFigures] | None = None
    edges: list[EdgeFigures] | None = None
    spec: Any = field(default=None, repr=False)
    graph: Any = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: sqlite3.Row, now: float) -> RunRecord:
        """From a ``runs`` row joined with its worker's name; a live run's duration runs to ``now``."""
        keys = row.keys()
        duration = row["duration"]
        if row["status"] == RUNNING:
            duration = max(0.0, now - row["started_at"])
        error = None
        if row["error_message"] is not None or row["error_node"] is not None:
            error = RunError(
                row["error_node"], row["error_item"], row["error_type"], row["error_message"]
            )
        return cls(
            id=row["id"],
            pipeline=row["pipeline"],
            status=row["status"],
            trigger=row["trigger"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            duration=duration,
            updated_at=row["updated_at"],
            progress_at=row["progress_at"],
            noticed_at=row["noticed_at"],
            worker=row["worker"],
            worker_id=row["worker_id"],
            spec_hash=row["spec_hash"],
            spec_path=row["spec_path"],
            version=row["version"],
            parameters=json.loads(row["parameters"]),
            items_in=row["items_in"],
            items_out=row["items_out"],
            error=error,
            cycle_of=row["cycle_of"] if "cycle_of" in keys else None,
            cycle=row["cycle"] if "cycle" in keys else None,
            spec=json.loads(row["spec"]) if "spec" in keys and row["spec"] else None,
            graph=json.loads(row["graph"]) if "graph" in keys and row["graph"] else None,
        )

    def as_json(self, detail: bool = False) -> dict[str, Any]:
        """The API form: the summary of ``/api/runs``; with ``detail``, also nodes, edges, spec."""
        data: dict[str, Any] = {
            "id": self.id,
            "pipeline": self.pipeline,
            "status": self.status,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration": self.duration,
            "worker": self.worker,
            "items_in": self.items_in,
            "items_out": self.items_out,
            "trigger": self.trigger,
            "version": self.version,
            "updated_at": iso(self.updated_at),
            "noticed_at": iso(self.noticed_at),
            "error": self.error.as_json() if self.error is not None else None,
            "cycle_of": self.cycle_of,
            "cycle": self.cycle,
        }
        if detail:
            data["spec_hash"] = self.spec_hash
            data["spec_path"] = self.spec_path
            data["parameters"] = self.parameters
            data["progress_at"] = iso(self.progress_at)
            data["nodes"] = {name: node.as_json() for name, node in (self.nodes or {}).items()}
            data["edges"] = [edge.as_json() for edge in self.edges or []]
            data["spec"] = self.spec
        return data


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """One registered worker (a process that records runs)."""

    id: str
    name: str
    version: str | None
    kind: str
    host: str
    pid: int
    pipelines_version: str
    started_at: float
    last_heartbeat: float
    heartbeat_period: float
    status: str
    offline_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> WorkerRecord:
        """From a ``workers`` row."""
        return cls(**{name: row[name] for name in row.keys()})  # noqa: SIM118 (a Row iterates values)

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "name": self.name,
            "version": self.version,
            "host": self.host,
            "pid": self.pid,
            "status": self.status,
            "last_heartbeat": iso(self.last_heartbeat),
            "kind": self.kind,
            "started_at": iso(self.started_at),
            "heartbeat_period": self.heartbeat_period,
            "offline_at": iso(self.offline_at),
            "id": self.id,
        }
