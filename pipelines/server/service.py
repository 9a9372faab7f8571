"""``pipelines serve`` as an object: start and stop the server, its worker and its hosted runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

from aiohttp import web

from ..runtime.clock import SYSTEM_CLOCK, Clock
from ..schedule.scheduler import DEFAULT_POLL, Scheduled, Scheduler
from ..schedule.watchdog import DEFAULT_INTERVAL, Watchdog
from ..spec.schedule import ScheduleSpec
from ..store.db import Store
from ..store.recorder import Recorder
from ..store.run_start import first_record
from ..store.status import WATCHDOG_STATUSES
from .app import ServerState, make_app
from .diagrams import Diagrams
from .feeds import MAX_CLIENTS, RunFeeds
from .hosting import MAX_ACTIVE, Busy, Host, HostedPipeline
from .metrics import StoreFeed
from .security import check_binding

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Server"]

log = logging.getLogger("pipelines")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8421


class Server:
    """The dashboard, the API and the hosted pipelines of one store, on ``host:port``.

    ``await start()`` checks the binding (a token is needed off loopback:
    :class:`~pipelines.server.security.BindError`), registers this process
    as a worker (its heartbeat also runs crash detection for every worker),
    listens (``port=0`` picks a free port, see :attr:`port`), then runs the
    schedules of the hosted pipelines (unless ``schedules=False``; ticking
    at least every ``schedule_poll`` s) and the watchdog over every run of
    the store (every ``watchdog_interval`` s; None: no watchdog). ``await
    stop()`` stops scheduling, drains the hosted runs (cancelling what is
    left after ``drain_timeout`` seconds), ends the event streams and the
    worker.
    """

    def __init__(
        self,
        store: Store,
        pipelines: list[HostedPipeline] | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        worker_name: str | None = None,
        max_active: int = MAX_ACTIVE,
        max_streams: int = MAX_CLIENTS,
        poll_interval: float = 0.5,
        heartbeat: float | None = None,
        clock: Clock = SYSTEM_CLOCK,
        schedules: bool = True,
        schedule_poll: float = DEFAULT_POLL,
        watchdog_interval: float | None = DEFAULT_INTERVAL,
    ) -> None:
        self.store = store
        self.pipelines = pipelines or []
        self.host = host
        self.port = port
        self.token = token
        self.worker_name = worker_name
        self.max_active = max_active
        self.max_streams = max_streams
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat
        self.clock = clock
        self.schedules = schedules
        self.schedule_poll = schedule_poll
        self.watchdog_interval = watchdog_interval
        self.scheduler: Scheduler | None = None
        self.watchdog: Watchdog | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.recorder: Recorder | None = None
        self.state: ServerState | None = None
        self._runner: web.AppRunner | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def url(self) -> str:
        """Where the server listens."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _version(self) -> str | None:
        versions = [f"{p.name}@{p.version}" for p in self.pipelines if p.version is not None]
        return ", ".join(versions) or None

    async def start(self) -> None:
        """Check the binding, register the worker, listen. Raises BindError or OSError."""
        check_binding(self.host, self.token)
        self.recorder = Recorder(
            self.store,
            worker_name=self.worker_name,
            version=self._version(),
            kind="serve",
            heartbeat=self.heartbeat,
            clock=self.clock,
        ).start()
        self._executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="pipelines-db")
        host = Host(self.pipelines, self.recorder, self.max_active, on_end=self._run_ended)
        self.scheduler = self._scheduler(host) if self.schedules else None
        state = self.state = ServerState(
            store=self.store,
            executor=self._executor,
            host=host,
            feeds=RunFeeds(_reader(self), self.poll_interval, self.max_streams, self.clock),
            diagrams=Diagrams(self._executor),
            metrics_feed=StoreFeed(self.store),
            scheduler=self.scheduler,
        )
        self._runner = web.AppRunner(make_app(state, self.token), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self.stop()
            raise
        self.port = self._runner.addresses[0][1]  # the port the OS chose for port=0
        loop = asyncio.get_running_loop()
        if self.scheduler is not None:
            self._tasks.append(loop.create_task(self.scheduler.run(), name="pipelines-scheduler"))
        if self.watchdog_interval:
            self.watchdog = Watchdog(self.store, clock=self.clock)
            self._tasks.append(loop.create_task(self._watch(), name="pipelines-watchdog"))

    def _scheduler(self, host: Host) -> Scheduler | None:
        assert self.recorder is not None
        entries = [
            self._scheduled(hosted, hosted.schedule)
            for hosted in self.pipelines
            if hosted.schedule is not None
        ]
        if not entries:
            return None
        return Scheduler(
            self.store,
            entries,
            host.start,
            worker_id=self.recorder.worker.id,
            clock=self.clock,
            poll=self.schedule_poll,
            limit=self.max_active,
            busy=(Busy,),
            active=host.active,
            executor=self._executor,
        )

    @staticmethod
    def _scheduled(hosted: HostedPipeline, schedule: ScheduleSpec) -> Scheduled:
        parameters = dict(schedule.parameters) or None
        data = hosted.with_parameters(parameters)
        template = first_record(
            hosted.plumber(data),
            run_id="",
            worker_id=None,
            started_at=0.0,
            pipeline=hosted.name,
            spec=data,
            parameters=parameters,
            spec_path=str(hosted.path.resolve()),
            trigger="schedule",
        )
        return Scheduled(hosted.name, schedule, hosted.limits, template.spec_hash, template)

    def _run_ended(self, pipeline: str) -> None:
        if self.scheduler is not None:
            self.scheduler.poke()

    async def _watch(self) -> None:
        """The watchdog, every ``watchdog_interval`` seconds; hosted runs it ends stop at once."""
        assert self.watchdog is not None and self.watchdog_interval
        loop = asyncio.get_running_loop()
        while True:
            try:
                report = await loop.run_in_executor(self._executor, self.watchdog.check)
            except Exception:  # a busy or broken store: log, and try again later
                log.exception("pipelines: a watchdog check failed")
            else:
                for verdict in report.verdicts:
                    log.warning(
                        "pipelines: watchdog: run %s of %s is %s: %s",
                        verdict.run_id,
                        verdict.pipeline,
                        verdict.status,
                        verdict.message.splitlines()[0],
                    )
                    if verdict.status in WATCHDOG_STATUSES and self.state is not None:
                        self.state.host.stop(verdict.run_id, drain=False)
            await self.clock.sleep(self.watchdog_interval)

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop scheduling, drain hosted runs, close streams and connections, mark the worker
        offline."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.state is not None:
            await self.state.host.close(drain_timeout)
            self.state.feeds.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.recorder is not None:
            # Joining the recorder's thread waits for its last flush: not on the event loop.
            await asyncio.get_running_loop().run_in_executor(self._executor, self.recorder.close)
            self.recorder = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _reader(server: Server) -> Any:
    async def read(run_id: str) -> dict[str, Any] | None:
        assert server.state is not None
        return await server.state.run_detail(run_id)

    return read
