"""The HTTP requests in progress: a cap on clients, and a hard stop for shutdown.

An aiohttp middleware sees every request before engine.io does. It refuses
a new engine.io session when ``max_clients`` sessions exist (HTTP 503), and
it keeps the requests in progress (a websocket is one long request), so
that the demo server's shutdown can wait for clients to close, then cut
those that do not.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from .frames import RateLimitedLog
from .transport import EngineServer

__all__ = ["Connections"]

log = logging.getLogger("pipelines.demo.server")


class Connections:
    """Requests in progress on the demo server, and at most ``max_clients`` sessions."""

    def __init__(
        self, eio: EngineServer, max_clients: int, frame_log: RateLimitedLog, path: str
    ) -> None:
        self.eio = eio
        self.max_clients = max_clients
        self.frame_log = frame_log
        self.path = "/" + path.strip("/") + "/"
        # By id: a request is a mutable mapping, not hashable.
        self.requests: dict[int, web.BaseRequest] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def _opens_session(self, request: web.Request) -> bool:
        return request.path == self.path and "sid" not in request.query

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """aiohttp middleware: refuse a session past ``max_clients``; track the request."""
        if self._opens_session(request) and len(self.eio.sockets) >= self.max_clients:
            self.frame_log.warning(
                f"demo server: connection refused: {len(self.eio.sockets)} clients connected, "
                f"at most {self.max_clients}"
            )
            return web.Response(
                status=503, text=f"server full: at most {self.max_clients} clients at once"
            )
        self.requests[id(request)] = request
        self._idle.clear()
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self.requests.pop(id(request), None)
            if not self.requests:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every request to end; return whether they did."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def abort_all(self) -> int:
        """Cut the TCP connection of every request in progress; return how many."""
        cut = 0
        for request in list(self.requests.values()):
            transport = request.transport
            # abort() even if closing: close() waits for buffered data to be
            # read, which a client that does not read never does.
            if transport is not None:
                transport.abort()
                cut += 1
        return cut
