"""Helpers of the schedule tests: times of day on a virtual clock, a worker in the store, and
a fake host whose runs are records lasting a given time of that clock."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from pipelines.store import Store, WorkerRecord, writes
from pipelines.store.writes import RunStart
from pipelines.testing import VirtualClock

#: 2024-01-01 00:00 UTC: the virtual clocks start here, so times read as times of day.
DAY0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()


def hms(moment: float) -> str:
    """``HH:MM:SS`` (UTC), ``+Nd`` after the first day."""
    days, rest = divmod(moment - DAY0, 86400)
    text = dt.datetime.fromtimestamp(DAY0 + rest, dt.UTC).strftime("%H:%M:%S")
    return f"{text}+{int(days)}d" if days else text


def register_worker(store: Store, clock: VirtualClock, name: str, period: float = 1e7) -> str:
    """A worker in the store, online (its heartbeat period outlasts any test)."""
    worker = WorkerRecord(
        id=uuid.uuid4().hex,
        name=name,
        version=None,
        kind="serve",
        host=socket.gethostname(),
        pid=os.getpid(),
        pipelines_version="test",
        started_at=clock.time(),
        last_heartbeat=clock.time(),
        heartbeat_period=period,
        status="online",
        offline_at=None,
    )
    with store.transaction() as conn:
        writes.register_worker(conn, worker)
    return worker.id


class FakeHost:
    """Starts "runs" that are only records: each is ``running`` for ``duration`` virtual
    seconds, then ``completed``. ``started`` lists (time, pipeline, run id, parameters)."""

    def __init__(self, store: Store, clock: VirtualClock, worker_id: str, duration: float):
        self.store = store
        self.clock = clock
        self.worker_id = worker_id
        self.duration = duration
        self.started: list[tuple[float, str, str, dict | None]] = []
        self.refuse: BaseException | None = None

    async def start(self, name, *, parameters=None, trigger="schedule", run_id=None):
        if self.refuse is not None:
            raise self.refuse
        now = self.clock.time()
        start = RunStart(
            run_id=run_id,
            pipeline=name,
            trigger=trigger,
            worker_id=self.worker_id,
            started_at=now,
            spec=None,
            spec_hash="hash",
            spec_path=None,
            version=None,
            parameters="{}",
            graph=None,
            nodes=[],
            edges=[],
        )
        with self.store.transaction() as conn:
            writes.insert_run(conn, start)
        self.started.append((now, name, run_id, parameters))
        self.clock.call_at(self.clock.monotonic() + self.duration, lambda: self._end(run_id))
        return run_id

    def _end(self, run_id: str) -> None:
        with self.store.transaction() as conn:  # at the virtual clock's time, whatever the store's
            writes.transition(conn, run_id, "completed", self.clock.time())

    def times(self) -> list[str]:
        return [hms(moment) for moment, *_ in self.started]
