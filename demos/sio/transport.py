"""The socket.io / engine.io layer of the demo server, hardened against its clients.

python-socketio and python-engineio do the protocol; this module bounds
what they would otherwise let one client cost (docs/demos.md lists every
decision):

* :class:`SendQueue`: what waits to be sent to one client is bounded in
  bytes and packets. engine.io's own queue is unbounded, so a client that
  never reads made the server keep everything emitted to it. A client whose
  queue would pass the bound is dropped: its graphs are stopped and its
  connection is cut (:meth:`EngineServer.drop`).
* :class:`GuardedWebSocket`: each websocket frame is checked before
  engine.io decodes it (engine.io does so outside any error handling); a bad
  frame closes the connection with one short log line, no traceback.
* :class:`SocketServer`: a socket.io packet that cannot be decoded closes
  the connection; one nested too deeply for the JSON decoder is answered
  with a ``pipeline_error``; an event with a reserved name (``disconnect``
  ...) is ignored instead of running the server's life-cycle handler.
* :class:`LibraryLog`: the libraries' own warnings and errors become
  rate-limited single lines.

These subclasses hook into python-engineio 4 / python-socketio 5 at the
points named in each docstring; tests/demos cover each of them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import engineio
import socketio
from engineio.async_drivers import aiohttp as eio_aiohttp

from .frames import RESERVED_EVENTS, RateLimitedLog, engineio_frame_problem, shown_frame
from .limits import Limits

__all__ = [
    "EngineServer",
    "GuardedWebSocket",
    "LibraryLog",
    "QueueStats",
    "SendQueue",
    "SocketServer",
    "packet_size",
]


@dataclass
class QueueStats:
    """What the send queues of one server have held: peaks, and the clients dropped."""

    peak_bytes: int = 0
    peak_packets: int = 0
    dropped: list[str] = field(default_factory=list)


def packet_size(packet: Any) -> int:
    """Bytes an engine.io packet takes on the wire (its data; small packets count 64)."""
    data = getattr(packet, "data", None)
    if isinstance(data, str | bytes | bytearray):
        return max(len(data), 1)
    return 64


class SendQueue(asyncio.Queue[Any]):
    """engine.io's per-client queue of packets to send, bounded in bytes and packets.

    engine.io creates it through :meth:`EngineServer.create_queue` and puts
    every packet for the client in it; its writer takes them out as the
    connection accepts them. A packet that would pass ``max_bytes`` or
    ``max_packets`` is not queued: the queue calls ``on_overflow`` once (the
    server drops the client) and ignores every later packet. ``None`` (the
    writer's end signal) always passes.
    """

    def __init__(
        self,
        max_bytes: int,
        max_packets: int,
        stats: QueueStats,
        on_overflow: Callable[[SendQueue], None],
    ) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.max_packets = max_packets
        self.stats = stats
        self.on_overflow = on_overflow
        self.bytes = 0
        self.overflowed = False

    def put_nowait(self, item: Any) -> None:
        if item is None:
            super().put_nowait(item)
            return
        if self.overflowed:
            return  # the client is being dropped
        size = packet_size(item)
        if self.qsize() >= self.max_packets or self.bytes + size > self.max_bytes:
            self.overflowed = True
            self.on_overflow(self)
            return
        self.bytes += size
        self.stats.peak_bytes = max(self.stats.peak_bytes, self.bytes)
        self.stats.peak_packets = max(self.stats.peak_packets, self.qsize() + 1)
        super().put_nowait(item)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        if item is not None:
            self.bytes -= packet_size(item)
        return item


class GuardedWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engine.io's aiohttp websocket, checking every frame before engine.io decodes it.

    Installed per server in place of engine.io's own (``_async['websocket']``).
    It also registers itself under its engine.io session id, so that
    :meth:`EngineServer.drop` can cut the TCP connection of a client that
    does not read (closing the engine.io socket alone leaves engine.io's
    writer blocked on that connection).
    """

    server: EngineServer

    async def __call__(self, environ: dict[str, Any]) -> Any:
        self.environ = environ
        # engine.io passes its socket's bound handler; the socket knows its sid.
        self.sid: str | None = getattr(getattr(self.handler, "__self__", None), "sid", None)
        if self.sid is not None:
            self.server.websockets[self.sid] = self
        try:
            return await super().__call__(environ)
        finally:
            if self.sid is not None and self.server.websockets.get(self.sid) is self:
                del self.server.websockets[self.sid]

    async def wait(self) -> Any:
        data = await super().wait()
        problem = engineio_frame_problem(data)
        if problem is None:
            return data
        self.server.frame_log.warning(
            f"demo server: bad frame on connection {self.sid}: {problem} ({shown_frame(data)}); "
            "connection closed"
        )
        self.abort()
        return None  # engine.io takes it as the client closing: it ends the socket cleanly

    def abort(self) -> None:
        """Cut the TCP connection at once (whatever is still buffered for it is dropped)."""
        request = self.environ.get("aiohttp.request")
        transport = request.transport if request is not None else None
        if transport is not None:
            transport.abort()


class LibraryLog:
    """The logger given to engine.io: its warnings and errors as rate-limited single lines.

    engine.io logs every packet at INFO (with its data) and a full traceback
    for errors in handlers; here INFO and DEBUG are dropped and the rest go
    through the server's :class:`RateLimitedLog`, without traceback.
    """

    def __init__(self, name: str, limited: RateLimitedLog) -> None:
        self.name = name
        self.limited = limited

    def _line(self, msg: Any, args: tuple[Any, ...], exc: bool) -> None:
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = str(msg)
        if exc:
            error = sys.exc_info()[1]
            if error is not None:
                text += f" ({type(error).__name__}: {error})"
        self.limited.warning(f"{self.name}: {text}")

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        pass

    info = debug

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._line(msg, args, exc=False)

    error = critical = warning

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._line(msg, args, exc=True)


class EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """engine.io server with bounded send queues, guarded websockets and tracked tasks.

    Call :meth:`configure` before serving. ``background`` keeps the tasks
    engine.io starts (a ping per client, socket.io handlers) so that the
    demo server's shutdown can end them; ``websockets`` maps session ids to
    their :class:`GuardedWebSocket`; ``queue_stats`` records the peaks of the
    send queues and the clients dropped.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.background: set[asyncio.Task[Any]] = set()
        self.websockets: dict[str, GuardedWebSocket] = {}
        self.queue_stats = QueueStats()
        self.max_queued_bytes = Limits().max_queued_bytes
        self.max_queued_packets = Limits().max_queued_packets
        self.frame_log = RateLimitedLog(logging.getLogger("pipelines.demo.server"), 10, 60.0)
        # A copy: engine.io's table of its aiohttp driver is shared by every server.
        self._async: dict[str, Any] = {**self._async, "websocket": GuardedWebSocket}

    def configure(self, limits: Limits, frame_log: RateLimitedLog) -> None:
        """Take the send-queue bounds from ``limits``; log bad frames to ``frame_log``."""
        self.max_queued_bytes = limits.max_queued_bytes
        self.max_queued_packets = limits.max_queued_packets
        self.frame_log = frame_log

    def create_queue(self, *args: Any, **kwargs: Any) -> SendQueue:
        """Each client's queue of packets to send (engine.io calls this once per client)."""
        return SendQueue(
            self.max_queued_bytes, self.max_queued_packets, self.queue_stats, self._overflow
        )

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = super().start_background_task(target, *args, **kwargs)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def _overflow(self, queue: SendQueue) -> None:
        sid = next((sid for sid, s in self.sockets.items() if s.queue is queue), None)
        if sid is None:
            return  # the socket is already gone
        self.frame_log.warning(
            f"demo server: connection {sid} dropped: it does not read what is sent to it "
            f"({queue.bytes:,} bytes in {queue.qsize()} packets waiting; at most "
            f"{self.max_queued_bytes:,} bytes, {self.max_queued_packets} packets)"
        )
        self.start_background_task(self.drop, sid)

    async def drop(self, sid: str) -> None:
        """Close the client ``sid`` at once: its socket, its graphs, its TCP connection.

        Closing the socket runs the disconnect handlers (which stop the
        client's graphs); ``None`` in its queue ends a long-poll waiting for
        packets; the websocket, if any, is cut.
        """
        self.queue_stats.dropped.append(sid)
        socket = self.sockets.get(sid)
        websocket = self.websockets.get(sid)
        if socket is not None and not socket.closed:
            await socket.close(wait=False, abort=True, reason=self.reason.TRANSPORT_ERROR)
            socket.queue.put_nowait(None)
        if websocket is not None:
            websocket.abort()

    async def close_all(self) -> None:
        """Close every socket without waiting for its queue to drain.

        engine.io's ``disconnect()`` waits until each queue is empty, which
        never happens for a client that does not read.
        """
        for socket in list(self.sockets.values()):
            if not socket.closed:
                await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """socket.io server on :class:`EngineServer`, refusing bad packets without tracebacks.

    ``on_refused(sid, message)`` answers a client whose packet was nested
    too deeply to decode (the demo server sends a ``pipeline_error``).
    """

    eio: EngineServer

    def __init__(self, limits: Limits, frame_log: RateLimitedLog, **kwargs: Any) -> None:
        super().__init__(
            async_mode="aiohttp",
            max_http_buffer_size=limits.transport_max_bytes,
            engineio_logger=LibraryLog("engine.io", frame_log),
            **kwargs,
        )
        self.eio.configure(limits, frame_log)
        self.frame_log = frame_log
        self.max_depth = limits.max_depth
        self.on_refused: Callable[[str, str], Awaitable[None]] | None = None

    def _engineio_server_class(self) -> type[EngineServer]:
        return EngineServer

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        # engine.io calls this for every message frame; socket.io decodes it
        # here and raises on anything it cannot decode.
        try:
            await super()._handle_eio_message(eio_sid, data)
        except RecursionError:
            await self._too_deep(eio_sid, data)
        except Exception as exc:
            self.frame_log.warning(
                f"demo server: bad packet on connection {eio_sid}: not socket.io "
                f"({type(exc).__name__}: {exc}; {shown_frame(data)}); connection closed"
            )
            await self.eio.drop(eio_sid)

    async def _too_deep(self, eio_sid: str, data: Any) -> None:
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is None or not self.manager.is_connected(sid, "/") or self.on_refused is None:
            self.frame_log.warning(
                f"demo server: packet on connection {eio_sid} nested too deeply ({shown_frame(data)}); "
                "connection closed"
            )
            await self.eio.drop(eio_sid)
            return
        self.frame_log.warning(
            f"demo server: packet from {sid} nested too deeply ({shown_frame(data)}); refused"
        )
        await self.on_refused(
            sid, f"message is nested too deeply: more than {self.max_depth} levels"
        )

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        # Before socket.io dispatches an event by its name: the life-cycle
        # names are the server's, never a client's to trigger.
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            raise ValueError("an event is a list starting with its name")
        if data[0] in RESERVED_EVENTS:
            self.frame_log.warning(
                f"demo server: connection {eio_sid} emitted the reserved event {data[0]!r}; ignored"
            )
            return
        await super()._handle_event(eio_sid, namespace, id, data)
