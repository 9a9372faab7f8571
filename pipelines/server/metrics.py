"""Prometheus metrics of runs, through ``prometheus_client`` with a registry of our own.

Names follow Prometheus' rules: counters end in ``_total``, times are in
seconds, labels have few values (pipeline, node, edge, status; never a run
id or an item):

==================================  =========  ============================  ==========================================
metric                              type       labels                        meaning
==================================  =========  ============================  ==========================================
``pipelines_items_in_total``        counter    pipeline, node                items nodes took from their inputs
``pipelines_items_out_total``       counter    pipeline, node                results nodes sent on (or kept)
``pipelines_items_failed_total``    counter    pipeline, node                items whose call failed after retries
``pipelines_items_retried_total``   counter    pipeline, node                retry attempts
``pipelines_queue_depth``           gauge      pipeline, source, target      items waiting on an edge of live runs
``pipelines_runs_total``            counter    pipeline, status              runs that ended, by final status
``pipelines_run_duration_seconds``  histogram  pipeline                      durations of the runs that ended
``pipelines_runs_active``           gauge      pipeline                      runs running now
``pipelines_workers_online``        gauge      (none)                        workers whose heartbeat is current
==================================  =========  ============================  ==========================================

:class:`MetricSet` turns successive figures of runs into those series:
counters grow by what changed since the last figures it saw of the same
run, so feeding it the same figures twice counts nothing twice. ``pipelines
serve`` feeds it from the store (:class:`StoreFeed`, on each scrape);
``pipelines run --metrics-port`` from its own run's events
(:class:`RunFeed`).
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..store.status import FINISHED, RUNNING

if TYPE_CHECKING:
    from ..runtime.events import Event
    from ..runtime.plumber import Plumber
    from ..store.db import Store

__all__ = ["CONTENT_TYPE", "DURATION_BUCKETS", "MetricSet", "RunFeed", "StoreFeed"]

#: The text format's content type.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Buckets of ``pipelines_run_duration_seconds``: from a tenth of a second to a day.
DURATION_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 86400)
#: Runs remembered as counted once they ended (so a re-read never counts them twice).
_REMEMBERED = 10_000

_COUNTED = ("received", "emitted", "failed", "retried")


class MetricSet:
    """The metrics of :mod:`pipelines.server.metrics`, in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        node = ["pipeline", "node"]
        self._counters = {
            "received": Counter(
                "pipelines_items_in", "Items nodes took from their inputs.", node, registry=r
            ),
            "emitted": Counter(
                "pipelines_items_out", "Results nodes sent on (or kept).", node, registry=r
            ),
            "failed": Counter(
                "pipelines_items_failed",
                "Items whose call failed after its retries.",
                node,
                registry=r,
            ),
            "retried": Counter(
                "pipelines_items_retried", "Retry attempts of node calls.", node, registry=r
            ),
        }
        self.queue_depth = Gauge(
            "pipelines_queue_depth",
            "Items waiting on an edge, summed over the live runs of a pipeline.",
            ["pipeline", "source", "target"],
            registry=r,
        )
        self.runs = Counter(
            "pipelines_runs",
            "Runs that ended, by final status.",
            ["pipeline", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "pipelines_run_duration_seconds",
            "Durations of the runs that ended.",
            ["pipeline"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.active = Gauge("pipelines_runs_active", "Runs running now.", ["pipeline"], registry=r)
        self.workers_online = Gauge(
            "pipelines_workers_online", "Workers whose heartbeat is current.", registry=r
        )
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, tuple[int, ...]]] = {}
        self._depths: dict[str, tuple[str, list[tuple[str, str, int]]]] = {}
        self._ended: collections.OrderedDict[str, None] = collections.OrderedDict()

    def observe(
        self,
        run_id: str,
        pipeline: str,
        status: str,
        nodes: Mapping[str, Mapping[str, Any]],
        edges: Iterable[Mapping[str, Any]],
        duration: float | None,
        baseline: bool = False,
    ) -> None:
        """Take a run's figures now. ``baseline``: a run first seen mid-way whose past
        is not this process's to count (only what it does from now on counts)."""
        with self._lock:
            if run_id in self._ended:
                return
            seen = self._seen.get(run_id)
            if seen is None:
                seen = self._seen[run_id] = {}
                if baseline:
                    for name, figures in nodes.items():
                        seen[name] = tuple(int(figures.get(k) or 0) for k in _COUNTED)
            for name, figures in nodes.items():
                now = tuple(int(figures.get(k) or 0) for k in _COUNTED)
                before = seen.get(name, (0, 0, 0, 0))
                for key, new, old in zip(_COUNTED, now, before, strict=True):
                    if new > old:
                        self._counters[key].labels(pipeline, name).inc(new - old)
                seen[name] = now
            if status == RUNNING:
                self._depths[run_id] = (
                    pipeline,
                    [(e["source"], e["target"], int(e.get("depth") or 0)) for e in edges],
                )
            elif status in FINISHED:
                self._depths.pop(run_id, None)
                self._seen.pop(run_id, None)
                self._ended[run_id] = None
                if len(self._ended) > _REMEMBERED:
                    self._ended.popitem(last=False)
                self.runs.labels(pipeline, status).inc()
                if duration is not None:
                    self.duration.labels(pipeline).observe(duration)
            self._refresh_gauges()

    def forget(self, run_id: str) -> None:
        """Stop following a run without counting its end (it was pruned)."""
        with self._lock:
            self._seen.pop(run_id, None)
            self._depths.pop(run_id, None)
            self._refresh_gauges()

    def _refresh_gauges(self) -> None:
        depth: collections.Counter[tuple[str, str, str]] = collections.Counter()
        active: collections.Counter[str] = collections.Counter()
        for pipeline, edges in self._depths.values():
            active[pipeline] += 1
            for source, target, value in edges:
                depth[(pipeline, source, target)] += value
        self.queue_depth.clear()
        for labels, value in depth.items():
            self.queue_depth.labels(*labels).set(value)
        self.active.clear()
        for pipeline, count in active.items():
            self.active.labels(pipeline).set(count)

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class StoreFeed:
    """Feeds a :class:`MetricSet` from a store: what changed since the last refresh.

    Runs that started before the feed did are counted from the moment it
    first sees them; runs it sees end are counted once. Blocking: call
    :meth:`refresh` off the event loop.
    """

    def __init__(self, store: Store, metrics: MetricSet | None = None, limit: int = 1000) -> None:
        self.store = store
        self.metrics = metrics if metrics is not None else MetricSet()
        self.limit = limit
        self.started = store.clock.time()
        self._since = self.started
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read the runs changed since the last refresh (with 2 s of overlap for clock skew)."""
        with self._lock:
            changed = self.store.changed_runs(self._since - 2.0, self.limit)
            for run in changed:
                self.metrics.observe(
                    run["id"],
                    run["pipeline"],
                    run["status"],
                    run["nodes"],
                    run["edges"],
                    run["duration"],
                    baseline=run["started_at"] < self.started,
                )
                self._since = max(self._since, run["updated_at"])
            self.metrics.workers_online.set(self.store.online_workers())


class RunFeed:
    """Feeds a :class:`MetricSet` from one Plumber's events (``pipelines run --metrics-port``)."""

    def __init__(
        self, plumber: Plumber, pipeline: str, run_id: str, metrics: MetricSet | None = None
    ) -> None:
        self.metrics = metrics if metrics is not None else MetricSet()
        self.pipeline = pipeline
        self.run_id = run_id
        self.metrics.workers_online.set(1)
        self._unsubscribe = plumber.subscribe(self.on_event)

    def on_event(self, event: Event) -> None:
        """Count what a ``stats`` or ``run_finished`` event says."""
        if event.kind == "stats":
            nodes = {name: s.as_dict() for name, s in event.data.get("stats", {}).items()}
            self.metrics.observe(
                self.run_id, self.pipeline, RUNNING, nodes, event.data.get("links", []), None
            )
        elif event.kind == "run_finished":
            result = event.data.get("result")
            error = event.data.get("error")
            if result is None and error is not None:
                result = getattr(error, "result", None)
            status = result.status if result is not None else "failed"
            if isinstance(error, asyncio.CancelledError | KeyboardInterrupt):
                status = "stopped"
            nodes = (
                {name: s.as_dict() for name, s in result.stats.items()}
                if result is not None
                else {}
            )
            duration = result.duration if result is not None else None
            self.metrics.observe(self.run_id, self.pipeline, status, nodes, [], duration)
            self._unsubscribe()
