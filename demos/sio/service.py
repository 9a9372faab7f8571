"""The demo server: socket.io handlers, answers to clients, and shutdown.

:class:`DemoServer` ties the parts together: the transport
(:class:`~sio.transport.SocketServer`), the runs (:class:`~sio.runs.Runs`),
the admission of messages (:func:`~sio.runs.build_plumber`) and the
connections in progress (:class:`~sio.connections.Connections`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from pipelines import Plumber, Problem

from .connections import Connections
from .limits import MAX_REPORTED_PROBLEMS, Limits, Refused
from .registry import REGISTRY, check_registry
from .runs import RunEvent, Runs, build_plumber
from .transport import QueueStats, SocketServer

__all__ = ["DemoServer"]

log = logging.getLogger("pipelines.demo.server")


class DemoServer:
    """Runs the graphs clients send: one :class:`~pipelines.Plumber` per message.

    ``running(sid=None)`` lists the Plumbers running now (of one client or
    all); ``subscribe(callback)`` calls ``callback(RunEvent)`` when a graph
    starts or finishes (tests and dashboards watch the server through it);
    ``queue_stats`` tells what the clients' send queues held.
    """

    #: Seconds :meth:`shutdown` gives clients to close their connections
    #: before it cuts them, then seconds it waits for the cut ones to end.
    CLOSE_TIMEOUT = 1.0
    ABORT_TIMEOUT = 1.0

    def __init__(
        self,
        sio: SocketServer,
        limits: Limits,
        delay_scale: float,
        connections: Connections,
        registry: Mapping[str, Callable[..., Any]] = REGISTRY,
    ) -> None:
        self.sio = sio
        self.limits = limits
        self.delay_scale = delay_scale
        self.connections = connections
        self.registry = check_registry(registry)
        self.runs = Runs(limits, self)
        self._clients: set[str] = set()
        self._closing = False
        self._shutdown_lock = asyncio.Lock()
        self._shut_down = False
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("process_msg", self._on_process_msg)
        sio.on_refused = self._refuse_undecodable

    # -- views --------------------------------------------------------------------

    def running(self, sid: str | None = None) -> list[Plumber]:
        """The Plumbers of the graphs running now, for one client or for all."""
        return self.runs.running(sid)

    @property
    def clients(self) -> frozenset[str]:
        """The sids of the clients connected now."""
        return frozenset(self._clients)

    @property
    def queue_stats(self) -> QueueStats:
        """Peaks of the clients' send queues, and the connections dropped for not reading."""
        return self.sio.eio.queue_stats

    def subscribe(self, callback: Callable[[RunEvent], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` when a graph starts or finishes; returns an unsubscriber."""
        return self.runs.subscribe(callback)

    # -- socket.io handlers ----------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if self._closing:
            return False
        self._clients.add(sid)
        log.info("client connected: %s", sid)
        return True

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._clients.discard(sid)
        count = len(self.runs.running(sid))
        log.info("client disconnected: %s (stopping %d running graph(s))", sid, count)
        await self.runs.stop_client(sid, "disconnect")

    async def _on_process_msg(self, sid: str, *args: Any) -> None:
        if len(args) != 1:
            await self.error(
                sid, None, "spec", f"process_msg takes one argument (the graph), got {len(args)}"
            )
            return
        try:
            self._submit(sid, args[0])
        except Refused as exc:
            await self.error(sid, None, exc.kind, str(exc), problems=exc.problems)
        except Exception:
            log.exception("demo server: cannot start a graph for %s", sid)
            await self.error(sid, None, "server", "internal error while starting the graph")

    async def _refuse_undecodable(self, sid: str, message: str) -> None:
        refused = Refused("limit", [Problem("", message)])
        await self.error(sid, None, "limit", str(refused), problems=refused.problems)

    def _submit(self, sid: str, data: Any) -> None:
        env = {"sid": sid, "sio": self.sio, "delay_scale": self.delay_scale}
        plumber = build_plumber(data, self.limits, env, self.registry)
        # No await from here to the registration: a disconnect or a shutdown
        # cannot slip in between the checks and the run being registered.
        if self._closing or sid not in self._clients:
            raise Refused("server", [Problem("", "the server is shutting down")])
        self.runs.start(sid, plumber)

    # -- answers (the runs' Answers) -------------------------------------------------

    async def error(
        self,
        sid: str,
        run_id: int | None,
        kind: str,
        message: str,
        *,
        problems: list[Problem] | None = None,
        node: str | None = None,
        item: str | None = None,
    ) -> None:
        """Send ``pipeline_error`` to ``sid`` (``problems`` with their key paths, at most 50)."""
        payload: dict[str, Any] = {"run": run_id, "kind": kind, "message": message}
        if problems is not None:
            shown = problems[:MAX_REPORTED_PROBLEMS]
            payload["problems"] = [{"path": p.path, "message": p.message} for p in shown]
            if len(problems) > len(shown):
                payload["problems_left_off"] = len(problems) - len(shown)
        if node is not None:
            payload["node"] = node
            payload["item"] = item
        await self.send("pipeline_error", payload, sid)

    async def send(self, event: str, data: Any, sid: str) -> None:
        """Emit ``event`` to ``sid`` if it is still connected (never raises)."""
        if sid not in self._clients:
            return
        try:
            await self.sio.emit(event, data=data, to=sid)
        except Exception as exc:  # a client that just left must not take the server down
            log.warning("demo server: cannot send %r to %s (%s)", event, sid, type(exc).__name__)

    # -- shutdown --------------------------------------------------------------------

    async def shutdown(self, app: web.Application | None = None) -> None:
        """Stop every graph, disconnect every client, end every socket.io background task.

        Bounded whatever the clients do: clients get :attr:`CLOSE_TIMEOUT`
        seconds to close their connections, then the rest are cut (a client
        that does not read never would). Idempotent; also an ``on_shutdown``
        handler of the app.
        """
        self._closing = True
        async with self._shutdown_lock:
            if self._shut_down:
                return
            await self.runs.stop_all("shutdown")
            for sid in list(self._clients):
                await self.sio.disconnect(sid)
            await self.sio.eio.close_all()
            # Let the clients close their websockets while aiohttp still reads
            # from them (it stops once its own shutdown starts).
            if not await self.connections.wait_idle(self.CLOSE_TIMEOUT):
                cut = self.connections.abort_all()
                log.warning(
                    "demo server: %d connection(s) still open after %g s: cut",
                    cut,
                    self.CLOSE_TIMEOUT,
                )
                await self.connections.wait_idle(self.ABORT_TIMEOUT)
            await self.sio.shutdown()
            current = asyncio.current_task()
            left = [task for task in self.sio.eio.background if task is not current]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            self._shut_down = True
