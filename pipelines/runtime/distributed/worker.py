"""A worker: serves nodes of one spec for every run of it, until stopped.

``Worker(spec_path, redis_url, nodes=None, name=None)`` loads and validates
its own copy of the spec (the functions it will ever call are the ones that
file names), heartbeats, and watches the spec's active runs (a set in Redis,
and a stream that wakes it when a run starts). For each run it starts a
:class:`~.runserver.RunServer` with a replica of every node it serves (all
but the sources by default). Start more workers, on any machine, to add
replicas; they share the work through the links' consumer groups.

``request_stop(drain=True)`` (the first Ctrl-C of ``pipelines worker``)
stops taking new runs and lets each replica finish the entry in hand;
``drain=False`` stops at once (what it held is taken over by the others).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..._version import __version__
from ...plan import Plan, make_plan
from ...spec.loader import load_file
from ...spec.transport import REDIS_SCHEMES, TransportSpec, spec_fingerprint
from ..clock import SYSTEM_CLOCK, Clock
from .codec import make_codec
from .connection import Redis, connect, reachable, redact
from .heartbeat import Heartbeat
from .keys import Keys
from .runserver import RunServer

__all__ = ["ANNOUNCE_BLOCK", "Worker"]

log = logging.getLogger("pipelines")

#: Milliseconds a worker waits for a run announcement before looking at the active set again.
ANNOUNCE_BLOCK = 1000


class Worker:
    """Serves nodes of one spec, for every run of it, until stopped."""

    def __init__(
        self,
        spec: str | Path | Mapping[str, Any],
        redis: str | None = None,
        *,
        nodes: Iterable[str] | None = None,
        name: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        base_dir: str | Path | None = None,
    ) -> None:
        if isinstance(spec, str | Path):
            path = Path(spec)
            self.data: dict[str, Any] = load_file(path)
            self.base_dir: Path | None = path.resolve().parent
            self.source: str | None = str(path)
        else:
            self.data = dict(spec)
            self.base_dir = Path(base_dir) if base_dir else None
            self.source = None
        self.plan = make_plan(self.data, None, self.base_dir, self.source)
        self.fingerprint = spec_fingerprint(self.data)
        self.transport: TransportSpec = self.plan.spec.transport or TransportSpec()
        url = redis or self.transport.redis
        if not url:
            raise ValueError("no Redis URL: give --redis redis://HOST:PORT/DB or transport.redis")
        if not url.startswith(REDIS_SCHEMES):
            raise ValueError(f"not a Redis URL (redis://, rediss://, unix://): {redact(url)}")
        self.url = url
        self.served = self._served(nodes)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.instance = f"{self.name}-{uuid.uuid4().hex[:6]}"
        self.keys = Keys()
        self.heartbeat_key = self.keys.worker(self.instance)
        self.codec = make_codec(self.transport.serializer)
        self.clock = clock
        self.servers: dict[str, RunServer] = {}
        self.served_runs: set[str] = set()  # runs served already (until they leave the active set)
        self.stopping = False
        self.started_at = time.time()
        self._stop: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._task: asyncio.Task[Any] | None = None
        self._redis: Redis | None = None

    def _served(self, nodes: Iterable[str] | None) -> list[str]:
        specs = self.plan.nodes
        if nodes is None:
            return [name for name, spec in specs.items() if not spec.is_source]
        chosen = list(dict.fromkeys(nodes))
        for name in chosen:
            if name not in specs:
                raise ValueError(f"no node named {name!r} (nodes: {', '.join(specs)})")
            if specs[name].is_source:
                raise ValueError(
                    f"{name!r} is a source: sources run where the run starts (pipelines run)"
                )
        return chosen

    @property
    def redis(self) -> Redis:
        """The connection (while running)."""
        if self._redis is None:
            raise RuntimeError("the worker is not running")
        return self._redis

    def plan_for(self, args: Mapping[str, Any]) -> Plan:
        """This worker's plan with a run's args (validated against the functions again)."""
        data = dict(self.data)
        nodes = {name: dict(node) for name, node in data["nodes"].items()}
        for name, node_args in args.items():
            if name in nodes:
                nodes[name]["args"] = node_args
        data["nodes"] = nodes
        return make_plan(data, None, self.base_dir, self.source)

    def describe(self) -> dict[str, Any]:
        """What the heartbeat says about this worker."""
        return {
            "name": self.name,
            "instance": self.instance,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "spec": self.plan.spec.name or self.source or "",
            "version": self.plan.spec.version,
            "fingerprint": self.fingerprint,
            "nodes": self.served,
            "runs": sorted(self.servers),
            "started": self.started_at,
            "pipelines": __version__,
        }

    async def wait_ready(self) -> None:
        """Wait until the worker has written its first heartbeat and looks for runs."""
        while self._ready is None:
            await asyncio.sleep(0.005)
        await self._ready.wait()

    # -- running ------------------------------------------------------------------------

    def request_stop(self, drain: bool = True) -> None:
        """Stop serving: finish the entries in hand (``drain``) or stop at once."""
        self.stopping = True
        if self._stop is not None:
            self._stop.set()
        if not drain and self._task is not None:
            self._task.cancel()

    async def run(self) -> None:
        """Serve runs until :meth:`request_stop`; the heartbeat is removed on the way out."""
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._task = asyncio.current_task()
        await reachable(self.url)
        self._redis = connect(self.url, self.transport.reconnect)
        if self.transport.serializer == "pickle":
            log.warning(
                "pipelines: this spec uses the pickle serializer: anyone who can write to %s "
                "can run code on this worker",
                redact(self.url),
            )
        heartbeat = Heartbeat(
            self._redis.client,
            self.heartbeat_key,
            self.describe,
            self.transport.heartbeat,
            self.clock,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                beating = tg.create_task(heartbeat.run(), name=f"pipelines:{self.name}:heartbeat")
                await self._discover(tg)
                for server in self.servers.values():
                    server.leave()
                while self.servers:
                    await asyncio.sleep(0.01)
                beating.cancel()
        finally:
            with contextlib.suppress(Exception):
                await heartbeat.remove()
            with contextlib.suppress(Exception):
                await self._redis.close()
            self._redis = None

    async def _discover(self, tg: asyncio.TaskGroup) -> None:
        """Start a RunServer for each new active run, until stopped."""
        assert self._stop is not None and self._ready is not None
        client = self.redis.client
        active = self.keys.active(self.fingerprint)
        announce = self.keys.announce(self.fingerprint)
        last = "0-0"
        log.info(
            "pipelines: worker %s serves %s of %s on %s",
            self.name,
            ", ".join(self.served) or "no node",
            self.source or self.plan.spec.name or "a spec",
            redact(self.url),
        )
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            while not self._stop.is_set():
                running = {raw.decode() for raw in await client.smembers(active)}
                self.served_runs &= running
                for run_id in running - self.served_runs:
                    self._start(tg, run_id)
                self._ready.set()
                read = asyncio.ensure_future(
                    client.xread({announce: last}, count=100, block=ANNOUNCE_BLOCK)
                )
                done, _ = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
                if read not in done:
                    read.cancel()
                    with contextlib.suppress(BaseException):
                        await read
                    break
                for _, entries in read.result() or ():
                    if entries:
                        last = entries[-1][0].decode()
        finally:
            stop.cancel()

    def _start(self, tg: asyncio.TaskGroup, run_id: str) -> None:
        server = RunServer(self, run_id)
        self.servers[run_id] = server
        self.served_runs.add(run_id)

        async def serve() -> None:
            try:
                await server.run()
            except Exception:
                log.exception("pipelines: worker %s failed serving run %s", self.name, run_id)
            finally:
                self.servers.pop(run_id, None)

        tg.create_task(serve(), name=f"pipelines:{self.name}:{run_id}")
