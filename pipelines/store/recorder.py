"""Recording runs from a process: its worker registration, heartbeat and writer.

Opt-in from Python (the library itself never writes anywhere)::

    from pipelines import Plumber
    from pipelines.store import Recorder, Store

    with Recorder(Store.open()) as recorder:      # registers this process as a worker
        plumber = Plumber(spec, sample_calls=True)
        recording = recorder.record(plumber)     # subscribes; recording.id is the run id
        asyncio.run(plumber.run())               # the run records itself as it goes

By default (``background=True``) the recorder starts one thread,
``pipelines-store``, with its own small event loop: it flushes the writer
and sends the heartbeat, so neither a busy graph nor a blocked event loop
delays a heartbeat (a run is marked crashed only when its process is really
gone or frozen). While it is open, the records of ``get_run_logger()`` in
the runs it records are saved with them (:mod:`.logs`). ``close()`` flushes
what is left, marks the worker offline and stops the thread. With ``background=False`` nothing is started: await
:meth:`Recorder.run` on your own loop (tests do this on a VirtualClock).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..runtime.clock import SYSTEM_CLOCK, Clock
from . import writes
from .db import Store
from .encoding import bounded
from .logs import LogCapture
from .prune import DEFAULT_KEEP, KEEP_ENV
from .recording import Recording
from .records import WorkerRecord
from .run_start import first_record
from .status import ONLINE, WATCHDOG_STATUSES, heartbeat_period
from .writer import FLUSH_INTERVAL, Writer

if TYPE_CHECKING:
    from ..runtime.plumber import Plumber

__all__ = ["Recorder", "keep_from_env", "new_run_id"]

log = logging.getLogger("pipelines")


def new_run_id() -> str:
    """A fresh run id: 12 hex digits (48 random bits)."""
    return uuid.uuid4().hex[:12]


def keep_from_env() -> int:
    """``$PIPELINES_KEEP_RUNS`` (runs kept per pipeline), default 1000; 0 keeps everything."""
    raw = os.environ.get(KEEP_ENV, "")
    try:
        keep = int(raw) if raw else DEFAULT_KEEP
    except ValueError:
        raise ValueError(f"{KEEP_ENV} must be a whole number of runs, got {raw!r}") from None
    if keep < 0:
        raise ValueError(f"{KEEP_ENV} must be 0 or more, got {raw!r}")
    return keep


class Recorder:
    """Records runs of this process into ``store`` and registers the process as a worker.

    ``worker_name`` defaults to ``host:pid``; ``version`` is what the worker
    runs (the spec's ``version``); ``kind`` says what the process is (``run``,
    ``serve``, ``python``). ``heartbeat`` is the period in seconds (default
    ``$PIPELINES_HEARTBEAT`` or 5); ``flush_interval`` how often live figures
    are written; ``keep`` how many runs of a pipeline are kept after each run
    (default ``$PIPELINES_KEEP_RUNS`` or 1000; 0 keeps all). ``clock`` is
    used for every timestamp, the heartbeat and the flushes. ``worker_id``
    registers this process under an id given before (a worker that comes
    back, as ``pipelines.steps`` allows); by default a fresh one.
    """

    def __init__(
        self,
        store: Store,
        *,
        worker_name: str | None = None,
        version: Any = None,
        kind: str = "python",
        heartbeat: float | None = None,
        flush_interval: float = FLUSH_INTERVAL,
        keep: int | None = None,
        clock: Clock = SYSTEM_CLOCK,
        background: bool = True,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.background = background
        self.period = heartbeat_period(heartbeat)
        self.writer = Writer(
            store,
            clock=clock,
            interval=flush_interval,
            keep=keep_from_env() if keep is None else keep,
        )
        host = socket.gethostname()
        now = clock.time()
        self.worker = WorkerRecord(
            id=worker_id or uuid.uuid4().hex,
            name=bounded(worker_name, 200) or f"{host}:{os.getpid()}",
            version=None if version is None else bounded(str(version), 200),
            kind=kind,
            host=host,
            pid=os.getpid(),
            pipelines_version=__version__,
            started_at=now,
            last_heartbeat=now,
            heartbeat_period=self.period,
            status=ONLINE,
            offline_at=None,
        )
        self._live: dict[str, Recording] = {}
        self._lock = threading.Lock()
        self._registered = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._capture = LogCapture(self._recording_of)
        #: Heartbeats sent (for tests and the docs' timings).
        self.beats = 0

    # -- life ----------------------------------------------------------------------------

    def start(self) -> Recorder:
        """Register the worker and, with ``background=True``, start the ``pipelines-store`` thread.

        Raises :class:`~pipelines.store.StoreError` if the store cannot be written.
        """
        if self._registered:
            return self
        with self.store.transaction() as conn:
            writes.register_worker(conn, self.worker)
        self._registered = True
        self._capture.install()
        if self.background:
            self._thread = threading.Thread(
                target=self._thread_main, name="pipelines-store", daemon=True
            )
            self._thread.start()
            self._ready.wait()
        return self

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.run())
        finally:
            self._ready.set()  # never leave start() waiting, even if run() failed early

    async def run(self) -> None:
        """Flush the writer and beat the heart until :meth:`close`.

        At the end: a last flush, and the worker goes offline (its unfinished
        runs become ``crashed``).
        """
        if not self._registered:
            self.start()
        self._loop = asyncio.get_running_loop()
        self._stop = stop = asyncio.Event()
        self._ready.set()
        if self._closed:  # closed before this loop got here
            stop.set()
        tasks = [
            asyncio.ensure_future(self.writer.run()),
            asyncio.ensure_future(self._beat_forever()),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._retire()

    async def _beat_forever(self) -> None:
        clock = self.clock
        due = clock.monotonic()
        while True:
            due += self.period
            await clock.sleep_until(due)
            self.beat()

    def beat(self) -> None:
        """One heartbeat: this worker is alive; and crash detection for every other worker.

        A live run of this process that a watchdog ended in the store
        (``timed_out``, ``stalled``) is stopped here, at once.
        """
        now = self.clock.time()
        with self._lock:
            live = list(self._live)
        try:
            with self.store.transaction() as conn:
                revived = writes.heartbeat(conn, self.worker, now, live)
                reaped = writes.reap(conn, now)
                verdicts = writes.statuses(conn, live) if live else {}
        except Exception as exc:  # a busy or broken store must not end the heartbeat
            log.warning("pipelines: heartbeat to the run store failed: %s", exc)
            return
        self.beats += 1
        for run_id, status in verdicts.items():
            if status in WATCHDOG_STATUSES:
                with self._lock:
                    recording = self._live.get(run_id)
                if recording is not None and recording.halt(status):
                    log.warning(
                        "pipelines: a watchdog marked run %s %s: stopping it", run_id, status
                    )
        if revived:
            log.warning(
                "pipelines: worker %s was found offline while alive; runs back to running: %s",
                self.worker.name,
                ", ".join(revived),
            )
        if reaped.workers:
            log.info(
                "pipelines: workers offline: %s; runs crashed: %s",
                ", ".join(reaped.workers),
                ", ".join(reaped.runs) or "none",
            )

    def _retire(self) -> None:
        """The final flush and the worker's deregistration."""
        if not self.writer.flush():
            self.writer.abandon(f"the run store {self.store.path} could not be written")
        try:
            with self.store.transaction() as conn:
                writes.deregister(conn, self.worker.id, self.clock.time())
        except Exception as exc:
            log.warning("pipelines: could not mark worker %s offline: %s", self.worker.name, exc)

    def close(self) -> None:
        """Flush, mark the worker offline and stop: the thread is joined; a foreground
        :meth:`run` returns (await it)."""
        if self._closed:
            return
        self._closed = True
        if self._registered:
            self._capture.uninstall()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        elif loop is None and self._registered:
            self._retire()  # never ran: nothing else will

    # -- recording -----------------------------------------------------------------------

    def record(
        self,
        plumber: Plumber,
        *,
        pipeline: str | None = None,
        spec: Any = None,
        parameters: dict[str, Any] | None = None,
        spec_path: str | None = None,
        trigger: str = "python",
        run_id: str | None = None,
        cycle_of: str | None = None,
        cycle: int | None = None,
    ) -> Recording:
        """Record the next run of ``plumber``; return its :class:`Recording` (``.id``).

        ``pipeline`` defaults to the spec's ``name``, else the stem of its
        file, else ``"pipeline"``; ``spec`` is the spec as loaded (default:
        rebuilt from the plan); ``parameters`` the ``--set`` values. The run's
        record (status ``running``) is written at once, before the run starts;
        the Plumber's next run takes its id (``plumber.next_run_id``), so its
        events and run logs carry it too. ``cycle_of`` and ``cycle`` link a
        cycle of a run (``cycle:`` in the spec) to the first one.
        """
        if self._closed:
            raise RuntimeError("this Recorder is closed")
        if not self._registered:
            self.start()
        # The Plumber runs under the same id (its run logs and events carry it).
        run_id = run_id or plumber.next_run_id or new_run_id()
        plumber.next_run_id = run_id
        start = first_record(
            plumber,
            run_id=run_id,
            worker_id=self.worker.id,
            started_at=self.clock.time(),
            pipeline=pipeline,
            spec=spec,
            parameters=parameters,
            spec_path=spec_path,
            trigger=trigger,
            cycle_of=cycle_of,
            cycle=cycle,
        )
        # At least one snapshot a second, whatever the Plumber was given.
        plumber.stats_interval = min(plumber.stats_interval, 1.0)
        written = self.writer.start(start)
        recording = Recording(self, plumber, start.run_id, written)
        with self._lock:
            self._live[start.run_id] = recording
        return recording

    def _recording_of(self, run_id: str) -> Recording | None:
        with self._lock:
            return self._live.get(run_id)

    def forget(self, run_id: str) -> None:
        """A recording ended: its run is no longer live in this process."""
        with self._lock:
            self._live.pop(run_id, None)

    @property
    def live(self) -> list[Recording]:
        """Recordings of runs still live in this process."""
        with self._lock:
            return list(self._live.values())

    def wait_written(self, recording: Recording, timeout: float | None = None) -> bool:
        """Block until ``recording``'s first record is committed (for callers that need it now)."""
        try:
            return recording.written.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
