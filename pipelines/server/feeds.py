"""Server-Sent Events of live runs: one poller per run, shared by all its clients.

``GET /api/runs/{id}/events`` streams ``snapshot`` events (the run as
``GET /api/runs/{id}`` gives it) every ``interval`` seconds while the run is
``running``, then one ``end`` event with the final status, and closes. A
finished run gets its final snapshot and ``end`` at once.

Memory is bounded by design: a feed keeps only its latest snapshot and a
version number; each client sends the newest version it has not sent yet.
A slow client therefore skips snapshots instead of queueing them (a snapshot
is the whole state, so nothing is lost), and the ``end`` event always comes
last. The number of streams open at once is bounded (``max_clients``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..runtime.clock import SYSTEM_CLOCK, Clock
from ..store.status import RUNNING
from .security import add_headers

__all__ = ["MAX_CLIENTS", "RunFeeds", "TooManyStreams"]

log = logging.getLogger("pipelines")

#: Event streams open at once, by default.
MAX_CLIENTS = 100

#: Reads a run's API form (None if unknown); runs off the event loop.
Reader = Callable[[str], Awaitable[dict[str, Any] | None]]


class TooManyStreams(RuntimeError):
    """``max_clients`` streams are open already."""


class _Feed:
    """The poller of one run: its latest snapshot and a version that grows with each poll."""

    def __init__(self) -> None:
        self.latest: dict[str, Any] | None = None
        self.version = 0
        self.clients = 0
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def ended(self) -> bool:
        return self.latest is None or self.latest.get("status") != RUNNING


class RunFeeds:
    """The live runs' event streams of one server."""

    def __init__(
        self,
        read: Reader,
        interval: float = 0.5,
        max_clients: int = MAX_CLIENTS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.read = read
        self.clock = clock
        self.interval = interval
        self.max_clients = max_clients
        self._feeds: dict[str, _Feed] = {}
        self._clients = 0
        self._closing = asyncio.Event()

    @property
    def clients(self) -> int:
        """Streams open now."""
        return self._clients

    async def stream(self, request: web.Request, run_id: str) -> web.StreamResponse:
        """Serve one client's stream (the caller checked that the run exists)."""
        if self._clients >= self.max_clients:
            raise TooManyStreams(f"{self.max_clients} event streams are open already")
        feed = self._feeds.get(run_id)
        if feed is None:
            feed = self._feeds[run_id] = _Feed()
        feed.clients += 1
        self._clients += 1
        try:
            if feed.task is None:
                feed.task = asyncio.ensure_future(self._poll(run_id, feed))
            return await self._serve(request, feed)
        finally:
            feed.clients -= 1
            self._clients -= 1
            if feed.clients == 0:
                if feed.task is not None:
                    feed.task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await feed.task
                if self._feeds.get(run_id) is feed:
                    del self._feeds[run_id]

    async def _serve(self, request: web.Request, feed: _Feed) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        add_headers(response)
        await response.prepare(request)
        try:
            await self._send(response, feed)
            await response.write_eof()
        except ConnectionResetError:  # the client went away
            pass
        return response

    async def _send(self, response: web.StreamResponse, feed: _Feed) -> None:
        sent = 0
        while not self._closing.is_set():
            if feed.version == sent:
                feed.changed.clear()
                waiter = asyncio.ensure_future(feed.changed.wait())
                closer = asyncio.ensure_future(self._closing.wait())
                try:
                    await asyncio.wait({waiter, closer}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    closer.cancel()
                    await asyncio.gather(waiter, closer, return_exceptions=True)
                continue
            sent = feed.version
            snapshot = feed.latest
            if snapshot is None:  # the run vanished (pruned)
                break
            await response.write(_event("snapshot", snapshot))
            if snapshot.get("status") != RUNNING:
                await response.write(
                    _event("end", {"id": snapshot["id"], "status": snapshot["status"]})
                )
                break

    async def _poll(self, run_id: str, feed: _Feed) -> None:
        while True:
            try:
                feed.latest = await self.read(run_id)
            except Exception as exc:  # a busy store: try again next time
                log.warning(
                    "pipelines: reading run %s for its event stream failed: %s", run_id, exc
                )
            else:
                feed.version += 1
                feed.changed.set()
                if feed.ended:
                    return
            await self.clock.sleep(self.interval)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        self._closing.set()


def _event(kind: str, data: dict[str, Any]) -> bytes:
    # One data line: JSON text has no raw newline.
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
