"""One run being recorded: a subscriber to its Plumber's events.

It keeps the latest figures the events carry (the periodic ``stats``
events, node starts, finishes and failures) and hands a snapshot to the
writer on each ``stats`` event; the writer keeps only the newest per run.
Nothing here touches the database or waits: the subscriber runs on the
graph's event loop and costs one pass over the nodes per ``stats`` event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import PipelineError
from ..runtime.events import Event
from ..runtime.stats import NodeStats, RunResult
from .encoding import MAX_TEXT, bounded
from .logs import LogBook
from .status import COMPLETED, FAILED, STOPPED
from .writes import NodeRow, RunEnd, Snapshot

if TYPE_CHECKING:
    from ..runtime.plumber import Plumber
    from .recorder import Recorder

__all__ = ["Recording"]

_ERROR_TEXT = 500  # characters of a node's last error kept


class Recording:
    """The record of one run of ``plumber``, made by :meth:`Recorder.record`.

    ``id`` is the run's id, known before the run starts. The recording ends
    by itself with the run (its ``run_finished`` event); :meth:`finish` ends
    it from outside for a run that ended without that event (it never
    started, or the process is being interrupted). ``written`` is a
    ``concurrent.futures.Future`` done once the run's first record is in the
    store.
    """

    def __init__(
        self,
        recorder: Recorder,
        plumber: Plumber,
        run_id: str,
        written: concurrent.futures.Future[bool],
    ) -> None:
        self.id = run_id
        self.written = written
        #: The run's log records on their way to the store (bounded, see :mod:`.logs`).
        self.logs = LogBook(run_id, recorder.writer.log, recorder.writer.log_counts)
        self._recorder = recorder
        self._plumber = plumber
        graph = plumber.graph
        self._kinds: dict[str, str] = {
            name: attrs["kind"] for name, attrs in graph.nodes(data=True)
        }
        self._sources = [n for n, k in self._kinds.items() if k == "source"]
        self._sinks = [n for n, k in self._kinds.items() if k == "sink"]
        self._states: dict[str, str] = dict.fromkeys(self._kinds, "waiting")
        self._errors: dict[str, str | None] = dict.fromkeys(self._kinds)
        self._stats: dict[str, NodeStats] = {}
        self._depths: dict[str, int] = {}
        self._links: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self.finished = False
        self.ended: concurrent.futures.Future[bool] | None = None
        #: The status a watchdog gave this run in the store, once it did (see :meth:`halt`).
        self.halted_by: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = plumber.subscribe(self.on_event)

    def __repr__(self) -> str:
        return f"<Recording {self.id} {'finished' if self.finished else 'live'}>"

    # -- events ------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Take what ``event`` says; on ``stats``, offer a snapshot; on ``run_finished``, end."""
        kind = event.kind
        node = event.node
        if kind == "stats":
            self._stats.update(event.data.get("stats", {}))
            self._depths = event.data.get("depths", self._depths)
            self._links = event.data.get("links", self._links)
            self._recorder.writer.snapshot(self.snapshot())
        elif kind == "node_started" and node in self._states:
            self._states[node] = "running"
        elif kind == "node_finished" and node in self._states:
            if "stats" in event.data:
                self._stats[node] = event.data["stats"]
            if self._states[node] != "failed":
                self._states[node] = "done"
            self._depths[node] = 0
        elif kind == "node_failed" and node in self._states:
            error = event.data.get("error")
            self._errors[node] = bounded(
                f"{type(error).__name__}: {error}" if error is not None else "failed", _ERROR_TEXT
            )
            if event.data.get("action") == "raise":
                self._states[node] = "failed"
        elif kind == "run_started":
            self._started = event.time
            self._loop = asyncio.get_running_loop()
            if self.halted_by is not None:  # halted before it started: stop as it starts
                self._loop.call_soon(self._plumber.request_stop, False)
        elif kind == "run_finished":
            self.finish(event.data.get("result"), event.data.get("error"))

    # -- figures -----------------------------------------------------------------------

    def _row(self, name: str) -> NodeRow:
        s = self._stats.get(name) or NodeStats()
        return (
            self._states[name],
            s.received,
            s.emitted,
            s.failed,
            s.retried,
            s.dropped,
            s.peak_depth,
            s.peak_in_flight,
            self._depths.get(name, 0),
            s.busy,
            s.latency_p50,
            s.latency_p95,
            s.latency_max,
            s.duration,
            self._errors[name],
        )

    def snapshot(self) -> Snapshot:
        """Every figure of the run as the latest events gave them."""
        stats = self._stats
        empty = NodeStats()
        return Snapshot(
            run_id=self.id,
            time=self._recorder.clock.time(),
            nodes={name: self._row(name) for name in self._kinds},
            edges={
                (e["source"], e["target"]): (e["depth"], e["peak_depth"], e.get("dropped", 0))
                for e in self._links
            },
            items_in=sum(stats.get(n, empty).emitted for n in self._sources),
            items_out=sum(stats.get(n, empty).emitted for n in self._sinks),
        )

    # -- the end -----------------------------------------------------------------------

    def halt(self, status: str) -> bool:
        """A watchdog ended this run in the store (``status``): cancel it in this process.

        Safe from any thread. The run then ends as ``stopped`` here, and its
        record keeps the watchdog's status (a finished record never changes).
        Returns False if it was already halted or finished.
        """
        if self.halted_by is not None or self.finished:
            return False
        self.halted_by = status
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already closed: nothing to stop
                loop.call_soon_threadsafe(self._plumber.request_stop, False)
        return True

    def finish(
        self, result: RunResult | None = None, error: BaseException | None = None
    ) -> concurrent.futures.Future[bool]:
        """End the record: ``result`` (a finished run) or ``error`` (what ended it) or neither
        (the run never reported: recorded as stopped). Only the first call counts."""
        if self.ended is not None:
            return self.ended
        self.finished = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        status, problem = COMPLETED, None
        if result is None and isinstance(error, PipelineError) and error.result is not None:
            result = error.result
        if error is not None:
            status = FAILED
            if isinstance(error, asyncio.CancelledError | KeyboardInterrupt):
                status = STOPPED
            else:
                cause = error.__cause__ if isinstance(error, PipelineError) else None
                shown = cause if cause is not None else error
                problem = (
                    getattr(error, "node", None),
                    getattr(error, "item", None),
                    type(shown).__name__,
                    bounded(str(shown), MAX_TEXT),
                )
        elif result is not None:
            status = result.status
        else:
            status = STOPPED
        if result is None:
            result = self._plumber.result_so_far(status, self._started)
        self._stats.update(result.stats)
        self._links = self._plumber.link_figures() or self._links
        self._depths = {name: 0 for name in self._kinds} if status == COMPLETED else self._depths
        for name, state in self._states.items():
            if state in ("waiting", "running"):
                self._states[name] = "done" if status == COMPLETED else STOPPED
        end = RunEnd(
            run_id=self.id,
            worker_id=self._recorder.worker.id,
            status=status,
            ended_at=self._recorder.clock.time(),
            duration=result.duration,
            error=problem,
            figures=self.snapshot(),
        )
        self.ended = self._recorder.writer.end(end)
        self._recorder.forget(self.id)
        return self.ended
