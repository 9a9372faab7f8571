"""The store's writer: everything recordings produce, written in one transaction per flush.

Recordings hand over what they have (a run's start, the latest snapshot of
its figures, its run-log records, its end) without waiting: :class:`Writer`
keeps the start and end of each run, only the *latest* snapshot of each live
run and the log records since the last flush (at most
:data:`~.logs.MAX_RECORDS` per run: the recordings' log books count the
rest), and :meth:`Writer.flush` writes all of it in one transaction,
touching only the rows whose figures changed. So the store sees a few
transactions a second whatever the item or log rate, and never one write per
item, event or record.

Flushes happen every ``interval`` seconds of the writer's clock, and at once
when a run starts or ends (so its record appears without delay). The writer
runs on the recorder's own thread (:mod:`.recorder`), never on the event
loop of the graph it records.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sqlite3
import threading

from ..runtime.clock import SYSTEM_CLOCK, Clock, sleep_or_event
from . import writes
from .db import Store, StoreError
from .logs import LogEntry, write_log_counts, write_logs
from .prune import prune
from .writes import RunEnd, RunStart, Snapshot

__all__ = ["FLUSH_INTERVAL", "Writer"]

log = logging.getLogger("pipelines")

#: Seconds between two flushes of live figures: a live run's record is at
#: most this old (plus one ``stats`` period of its Plumber).
FLUSH_INTERVAL = 0.5

_Pending = tuple[
    list[tuple[RunStart, "concurrent.futures.Future[bool]"]],
    dict[str, Snapshot],
    list[tuple[RunEnd, "concurrent.futures.Future[bool]"]],
    list[tuple[str, LogEntry]],
    dict[str, tuple[int, int]],
]


class Writer:
    """Batches run records into ``store``; thread-safe to feed, flushed by one thread.

    ``keep``: after a run ends, keep only the newest ``keep`` runs of its
    pipeline (None or 0: keep everything).
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM_CLOCK,
        interval: float = FLUSH_INTERVAL,
        keep: int | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.interval = interval
        self.keep = keep or None
        self._lock = threading.Lock()
        self._starts: list[tuple[RunStart, concurrent.futures.Future[bool]]] = []
        self._snapshots: dict[str, Snapshot] = {}
        self._ends: list[tuple[RunEnd, concurrent.futures.Future[bool]]] = []
        self._logs: list[tuple[str, LogEntry]] = []
        self._log_counts: dict[str, tuple[int, int]] = {}
        self._written: dict[str, Snapshot] = {}  # the figures last written, per live run
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        #: Transactions committed (each flush with something to write is one).
        self.transactions = 0

    # -- feeding (any thread) ---------------------------------------------------------

    def start(self, start: RunStart) -> concurrent.futures.Future[bool]:
        """Queue a run's first record; written at once. The future is done once it is committed."""
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()
        with self._lock:
            self._starts.append((start, future))
        self._urgent()
        return future

    def snapshot(self, snapshot: Snapshot) -> None:
        """Offer a live run's latest figures; only the newest per run is kept until the next flush."""
        with self._lock:
            self._snapshots[snapshot.run_id] = snapshot

    def end(self, end: RunEnd) -> concurrent.futures.Future[bool]:
        """Queue a run's end; written at once. The future says whether it was written (False:
        the run had already ended, e.g. found crashed and not by its own worker)."""
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()
        with self._lock:
            self._snapshots.pop(end.run_id, None)
            self._ends.append((end, future))
        self._urgent()
        return future

    def log(self, run_id: str, entry: LogEntry) -> None:
        """Queue one run-log record for the next flush (the run's log book bounds them)."""
        with self._lock:
            self._logs.append((run_id, entry))

    def log_counts(self, run_id: str, dropped: int, truncated: int) -> None:
        """A run's records dropped and messages cut so far; the latest counts win."""
        with self._lock:
            self._log_counts[run_id] = (dropped, truncated)

    @property
    def pending(self) -> int:
        """Records waiting for the next flush."""
        with self._lock:
            return (
                len(self._starts)
                + len(self._snapshots)
                + len(self._ends)
                + len(self._logs)
                + len(self._log_counts)
            )

    def _urgent(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    # -- writing (the writer's thread) -------------------------------------------------

    def flush(self) -> bool:
        """Write everything pending in one transaction; False if the store refused (kept for later)."""
        with self._lock:
            pending: _Pending = (
                self._starts,
                self._snapshots,
                self._ends,
                self._logs,
                self._log_counts,
            )
            self._starts, self._snapshots, self._ends = [], {}, []
            self._logs, self._log_counts = [], {}
        starts, snapshots, ends, logs, counts = pending
        if not (starts or snapshots or ends or logs or counts):
            return True
        try:
            results = self._write(starts, snapshots, ends, logs, counts)
        except sqlite3.IntegrityError as exc:
            # A first record that can never be written (its id is taken): refuse those
            # runs, so that they do not hold back every other record.
            for start, future in starts:
                if not future.done():
                    future.set_exception(
                        StoreError(f"run {start.run_id} cannot be recorded: {exc}")
                    )
            log.error("pipelines: run records refused by the run store: %s", exc)
            self._put_back(([], snapshots, ends, logs, counts))
            return False
        except (sqlite3.Error, StoreError) as exc:
            log.warning("pipelines: could not write to the run store %s: %s", self.store.path, exc)
            self._put_back(pending)
            return False
        self.transactions += 1
        for (_, future), ok in zip([*starts, *ends], results, strict=True):
            if not future.done():
                future.set_result(ok)
        return True

    def _write(
        self,
        starts: list[tuple[RunStart, concurrent.futures.Future[bool]]],
        snapshots: dict[str, Snapshot],
        ends: list[tuple[RunEnd, concurrent.futures.Future[bool]]],
        logs: list[tuple[str, LogEntry]],
        counts: dict[str, tuple[int, int]],
    ) -> list[bool]:
        written = dict(self._written)
        results: list[bool] = []
        with self.store.transaction() as conn:
            for start, _ in starts:
                writes.insert_run(conn, start)
                results.append(True)
            for run_id, snap in snapshots.items():
                if writes.write_snapshot(conn, snap, written.get(run_id)):
                    written[run_id] = snap
                else:
                    written.pop(run_id, None)  # ended elsewhere: stop diffing against it
            if logs:  # before the ends, which may prune runs
                write_logs(conn, logs)
            if counts:
                write_log_counts(conn, counts)
            for end, _ in ends:
                results.append(writes.finish_run(conn, end, written.pop(end.run_id, None)))
            if self.keep and ends:
                for pipeline in self._pipelines_of(conn, ends):
                    prune(conn, self.clock.time(), keep=self.keep, pipeline=pipeline)
        self._written = written
        return results

    @staticmethod
    def _pipelines_of(
        conn: sqlite3.Connection, ends: list[tuple[RunEnd, concurrent.futures.Future[bool]]]
    ) -> set[str]:
        ids = [end.run_id for end, _ in ends]
        rows = conn.execute(
            f"SELECT DISTINCT pipeline FROM runs WHERE id IN ({', '.join('?' * len(ids))})", ids
        )
        return {row[0] for row in rows}

    def _put_back(self, pending: _Pending) -> None:
        starts, snapshots, ends, logs, counts = pending
        with self._lock:
            self._starts = starts + self._starts
            for run_id, snap in snapshots.items():
                self._snapshots.setdefault(run_id, snap)  # a newer one wins
            for end, _ in ends:
                self._snapshots.pop(end.run_id, None)
            self._ends = ends + self._ends
            self._logs = logs + self._logs
            for run_id, count in counts.items():
                self._log_counts.setdefault(run_id, count)  # newer counts win

    def abandon(self, reason: str) -> None:
        """Give up on what is still pending (the store stayed unusable): fail its futures."""
        with self._lock:
            starts, ends = self._starts, self._ends
            self._starts, self._snapshots, self._ends = [], {}, []
            self._logs, self._log_counts = [], {}
        for _, future in [*starts, *ends]:
            if not future.done():
                future.set_exception(StoreError(reason))
        if starts or ends:
            log.error(
                "pipelines: %d run records were not written: %s", len(starts) + len(ends), reason
            )

    async def run(self) -> None:
        """Flush every ``interval`` (at once for starts and ends) until cancelled; flush at the end."""
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        try:
            while True:
                self.flush()  # what came before this loop ran, or since the last wait
                await sleep_or_event(self.clock, self.interval, wake)
        finally:
            self._loop = self._wake = None
            self.flush()
