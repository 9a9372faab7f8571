"""``pipelines serve`` as an object: start and stop the server, its worker and its hosted runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from aiohttp import web

from ..runtime.clock import SYSTEM_CLOCK, Clock
from ..store.db import Store
from ..store.recorder import Recorder
from .app import ServerState, make_app
from .diagrams import Diagrams
from .feeds import MAX_CLIENTS, RunFeeds
from .hosting import MAX_ACTIVE, Host, HostedPipeline
from .metrics import StoreFeed
from .security import check_binding

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Server"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8421


class Server:
    """The dashboard, the API and the hosted pipelines of one store, on ``host:port``.

    ``await start()`` checks the binding (a token is needed off loopback:
    :class:`~pipelines.server.security.BindError`), registers this process
    as a worker (its heartbeat also runs crash detection for every worker),
    and listens; ``port=0`` picks a free port (see :attr:`port`). ``await
    stop()`` drains the hosted runs (cancelling what is left after
    ``drain_timeout`` seconds), ends the event streams and the worker.
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
        host = Host(self.pipelines, self.recorder, self.max_active)
        state = self.state = ServerState(
            store=self.store,
            executor=self._executor,
            host=host,
            feeds=RunFeeds(_reader(self), self.poll_interval, self.max_streams, self.clock),
            diagrams=Diagrams(self._executor),
            metrics_feed=StoreFeed(self.store),
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

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Drain hosted runs, close streams and connections, mark the worker offline."""
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
