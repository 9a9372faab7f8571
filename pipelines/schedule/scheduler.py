"""The scheduler of ``pipelines serve``: takes each due occurrence in the store, starts runs.

Each tick is one store transaction per schedule: crash detection, the
occurrences due since the schedule's cursor (:func:`.timing.window`), the
decisions (:func:`.policy.plan`), each occurrence's fate written (the INSERT
of an occurrence's row is its claim: a second server cannot claim it
again), the cursor moved on. Then the runs decided are started (``start``,
e.g. :meth:`pipelines.server.hosting.Host.start`) with the run ids the
claims carry; one that cannot start is marked so (``busy``, ``error``), or
goes back to the queue.

Time comes from ``clock``; tests drive the scheduler on a
:class:`~pipelines.testing.VirtualClock` with ``executor=None`` (store calls
inline, on the loop), and assert exact start times and skip reasons.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..runtime.clock import SYSTEM_CLOCK, Clock, sleep_or_event
from ..spec.limits import NO_LIMITS, WatchdogSpec
from ..spec.schedule import ScheduleSpec
from ..store import schedules as book
from ..store import writes
from ..store.db import Store
from ..store.recorder import new_run_id
from ..store.schedule_records import LATE as LATE_FATE
from ..store.schedule_records import QUEUED, SKIPPED, STARTED
from ..store.writes import RunStart
from .policy import BUSY, CRASHED, ERROR, LATE, QUEUE, SKIP, START, Decision, Situation, plan
from .timing import CronTiming, IntervalTiming, timing_of, window

__all__ = [
    "DEFAULT_POLL",
    "MAX_CATCHUP",
    "STARTING",
    "Scheduled",
    "Scheduler",
    "Start",
    "late_message",
]

log = logging.getLogger("pipelines")

#: Seconds between two ticks when no occurrence is due sooner (queued runs start,
#: and other servers' changes are seen, within this).
DEFAULT_POLL = 1.0
#: Occurrences one tick takes one by one (``catchup: all`` after a long absence).
MAX_CATCHUP = 1000
#: Seconds a claimed start may go without its run's record (written within moments of
#: the claim) before it counts as lost (``error``): a start that failed and could not
#: even say so never blocks the schedule for longer.
STARTING = 60.0

_T = TypeVar("_T")

#: ``start(name, parameters=..., trigger=..., run_id=...)`` -> the run's id, once recorded.
Starter = Callable[..., Awaitable[str]]


@dataclass(slots=True)
class Scheduled:
    """One pipeline's schedule as a server runs it."""

    name: str
    spec: ScheduleSpec
    limits: WatchdogSpec = NO_LIMITS
    spec_hash: str = ""
    #: The first record its runs have (spec, nodes, edges, diagram), for a run found late.
    template: RunStart | None = None
    timing: IntervalTiming | CronTiming = field(init=False)

    def __post_init__(self) -> None:
        self.timing = timing_of(self.spec)

    def definition(self) -> dict[str, Any]:
        """What the store keeps: the schedule, and the limits a watchdog needs (``late_after``)."""
        return {**self.spec.as_dict(), "watchdog": self.limits.as_dict()}


@dataclass(frozen=True, slots=True)
class Start:
    """A run the tick decided to start."""

    schedule: str
    due: float
    run_id: str
    queued: bool


class Scheduler:
    """Runs the schedules of ``entries`` against ``store``, starting runs with ``start``.

    ``worker_id``: this server's worker (claims carry it, so the claims of a
    server that died are recognised); ``active(name)``: ids of the runs of a
    pipeline this process runs (counted live between two cycles of a run);
    ``busy``: the exception types of ``start`` that mean "no slot now";
    ``limit``: the most runs the server runs at once; ``poll``: the longest
    wait between two ticks; ``executor``: where blocking store calls run
    (None: inline).
    """

    def __init__(
        self,
        store: Store,
        entries: Iterable[Scheduled],
        start: Starter,
        *,
        worker_id: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        poll: float = DEFAULT_POLL,
        limit: int = 8,
        busy: tuple[type[BaseException], ...] = (),
        active: Callable[[str], Iterable[str]] | None = None,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        self.store = store
        self.entries = {entry.name: entry for entry in entries}
        self.start = start
        self.worker_id = worker_id
        self.clock = clock
        self.poll = poll
        self.limit = limit
        self.busy = busy
        self.active = active or (lambda name: ())
        self.executor = executor
        self.watching_since: float | None = None
        self._registered = False
        self._wake: asyncio.Event | None = None
        #: Every decision taken, per schedule, for tests and logs (bounded: the last 1,000).
        self.history: dict[str, list[Decision]] = {name: [] for name in self.entries}

    # -- running -----------------------------------------------------------------------

    async def prepare(self) -> None:
        """Register every schedule in the store (a new one owes nothing before now)."""
        now = self.clock.time()
        if self.watching_since is None:
            self.watching_since = now
        await self._blocking(self._register, now)
        self._registered = True

    async def run(self) -> None:
        """Tick until cancelled: at each occurrence's time, and at least every ``poll`` s.

        A store that is busy or broken is logged and tried again at the next tick.
        """
        self._wake = asyncio.Event()
        while self.watching_since is None or not self._registered:
            try:
                await self.prepare()
            except Exception:
                log.exception("pipelines: the schedules could not be registered in the store")
                await self._sleep(self.poll)
        while True:
            await self.tick()
            await self._sleep(self._next_wait())

    def poke(self) -> None:
        """Tick now (a hosted run ended: a queued occurrence may start)."""
        if self._wake is not None:
            self._wake.set()

    async def tick(self) -> list[Start]:
        """One pass over every schedule: decide, write, start. Returns the runs started."""
        if not self._registered:
            await self.prepare()
        started: list[Start] = []
        for entry in self.entries.values():
            now = self.clock.time()
            try:
                starts = await self._blocking(self._book, entry, now)
            except Exception:  # a busy or broken store: the next tick tries again
                log.exception("pipelines: the schedule of %s could not be updated", entry.name)
                continue
            for start in starts:
                if await self._start(entry, start):
                    started.append(start)
        return started

    def _next_wait(self) -> float:
        now = self.clock.time()
        wait = self.poll
        for entry in self.entries.values():
            upcoming = entry.timing.after(now)
            if upcoming is not None:
                wait = min(wait, upcoming - now)
        return max(0.0, wait)

    async def _sleep(self, seconds: float) -> None:
        wake = self._wake
        assert wake is not None
        await sleep_or_event(self.clock, seconds, wake)

    async def _blocking(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self.executor is None:
            return fn(*args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))

    # -- starting ----------------------------------------------------------------------

    async def _start(self, entry: Scheduled, start: Start) -> bool:
        try:
            await self.start(
                entry.name,
                parameters=dict(entry.spec.parameters) or None,
                trigger="schedule",
                run_id=start.run_id,
            )
        except asyncio.CancelledError:
            await self._not_started(entry, start, ERROR, "the server stopped")
            raise
        except self.busy as exc:
            await self._not_started(entry, start, BUSY, str(exc))
            return False
        except Exception as exc:
            log.warning(
                "pipelines: scheduled run of %s (due %s) could not start: %s",
                entry.name,
                _when(start.due),
                exc,
            )
            await self._not_started(entry, start, ERROR, f"{type(exc).__name__}: {exc}")
            return False
        return True

    async def _not_started(self, entry: Scheduled, start: Start, reason: str, detail: str) -> None:
        try:
            await self._blocking(self._unstart, entry, start, reason, detail)
        except Exception as exc:  # the store failed too: a later tick finds it lost
            log.warning("pipelines: could not record why %s did not start: %s", start.run_id, exc)

    def _unstart(self, entry: Scheduled, start: Start, reason: str, detail: str) -> None:
        """A claimed start that did not start: back to the queue (``overlap: queue`` and busy),
        else skipped with ``reason``. Only while its run was never recorded."""
        now = self.clock.time()
        back = reason == BUSY and entry.spec.overlap == "queue"
        with self.store.transaction() as conn:
            fate, why = (QUEUED, None) if back else (SKIPPED, reason)
            if not book.unstart(conn, entry.name, start.due, fate, now, why) or back:
                return
        log.info(
            "pipelines: occurrence %s of %s skipped (%s: %s)",
            _when(start.due),
            entry.name,
            reason,
            detail,
        )

    # -- the store (blocking, one transaction per schedule) --------------------------------

    def _register(self, now: float) -> None:
        with self.store.transaction() as conn:
            for entry in self.entries.values():
                book.register(
                    conn,
                    entry.name,
                    entry.definition(),
                    entry.spec.describe(),
                    entry.spec_hash,
                    entry.spec.enabled,
                    now,
                )

    def _book(self, entry: Scheduled, now: float) -> list[Start]:
        assert self.watching_since is not None
        name = entry.name
        if not self._anything_to_do(entry, now):
            return []  # nothing due, nothing waiting: no write transaction
        with self.store.transaction() as conn:
            writes.reap(conn, now)  # a run whose worker died is not live any more
            row = book.get(conn, name)
            if row is None:  # pruned or deleted meanwhile: register it again
                row = book.register(
                    conn, name, entry.definition(), entry.spec.describe(), entry.spec_hash,
                    entry.spec.enabled, now,
                )  # fmt: skip
            for lost, dead in book.lost_starts(conn, name, now - STARTING):
                book.unstart(conn, name, lost.due_at, SKIPPED, now, CRASHED if dead else ERROR)
            due = window(entry.timing, row.cursor, now, MAX_CATCHUP)
            waiting = book.queued(conn, name)
            if due.empty and not waiting:
                return []
            live = book.active_runs(conn, name, name, now - STARTING) | set(self.active(name))
            situation = Situation(
                now=now,
                watching_since=self.watching_since,
                active=len(live),
                queued=tuple(occurrence.due_at for occurrence in waiting),
                limit=self.limit,
                paused=row.paused_at is not None,
            )
            decisions = plan(entry.spec, entry.limits.late_after, due, situation)
            starts = [self._apply(conn, entry, decision, now) for decision in decisions]
            book.set_cursor(conn, name, now, entry.timing.after(now), self.worker_id, now)
            book.prune_occurrences(conn, name)
        self._remember(name, decisions)
        return [start for start in starts if start is not None]

    def _anything_to_do(self, entry: Scheduled, now: float) -> bool:
        conn = self.store.connection()
        row = book.get(conn, entry.name)
        if row is None:
            return True
        if not window(entry.timing, row.cursor, now, 1).empty:
            return True
        return book.has_queued(conn, entry.name)

    def _apply(self, conn: Any, entry: Scheduled, decision: Decision, now: float) -> Start | None:
        name, due = entry.name, decision.due
        if decision.action == START:
            run_id = new_run_id()
            if decision.queued:
                taken = book.move(
                    conn, name, due, QUEUED, STARTED, now, run_id=run_id, worker_id=self.worker_id
                )
            else:
                taken = book.claim(conn, name, due, STARTED, self.worker_id, now, run_id)
            return Start(name, due, run_id, decision.queued) if taken else None
        if decision.action == QUEUE:
            book.claim(conn, name, due, QUEUED, self.worker_id, now)
        elif decision.action == SKIP:
            assert decision.reason is not None
            if decision.queued:
                book.move(conn, name, due, QUEUED, SKIPPED, now, reason=decision.reason)
            else:
                book.skip(
                    conn, name, due, decision.until, decision.count, decision.reason,
                    self.worker_id, now,
                )  # fmt: skip
        elif decision.action == LATE:
            run_id = new_run_id()
            if decision.queued:
                taken = book.move(conn, name, due, QUEUED, LATE_FATE, now, run_id=run_id)
                why = "the previous run was still running"
            else:
                taken = book.claim(conn, name, due, LATE_FATE, self.worker_id, now, run_id)
                missed = due < (self.watching_since or now)
                why = "no server was running then" if missed else "the server was late"
            if not taken:
                return None
            book.insert_late_run(
                conn,
                run_id=run_id,
                pipeline=name,
                due=due,
                now=now,
                worker_id=self.worker_id,
                spec_hash=entry.spec_hash,
                parameters=dict(entry.spec.parameters),
                message=late_message(due, entry.limits.late_after, now, why),
                template=entry.template,
            )
        return None

    def _remember(self, name: str, decisions: list[Decision]) -> None:
        history = self.history.setdefault(name, [])
        history.extend(decisions)
        del history[:-1000]


def late_message(due: float, late_after: float | None, now: float, why: str) -> str:
    """Why a scheduled run is late: its time, the limit, what held it back."""
    return (
        f"not started within late_after ({late_after or 0:g} s) of its time {_when(due)}"
        f" ({now - due:.0f} s late): {why}; cancelled"
    )


def _when(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
