"""Test harness for the socket.io demo server (demos/sio/) and client (demos/client.py).

``demos/`` is not installed; pytest puts it on ``sys.path`` (pyproject.toml),
so tests import the server's modules as ``sio.*``. The client script is
loaded by path. It holds the clients the tests talk with: a real
``socketio.AsyncClient`` that records what it gets (:class:`Client`), a
websocket client speaking raw engine.io / socket.io frames (:class:`RawClient`),
and a TCP client that sends frames and never reads (:class:`SilentClient`).
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import socket
import struct
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"


def _load(name: str, path: Path) -> Any:
    """Import a demo script by path (demos/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


demo_client = _load("pipelines_demo_client", DEMOS / "client.py")

FAST = 0.01  # delay_scale for tests: coro1 sleeps 30 ms instead of 3 s
STRINGS = ["alpha", "Bravo", "charlie-3", "0xdeadbeef", "e"]


def original_graph(strings: list[str]) -> dict[str, Any]:
    """The graph exactly as the original client sent it (tuples and all)."""
    return {
        "nodes": {
            "inp": {"coro": "ProcessFunc.inputcoro", "args": {"strings_from_client": strings}},
            "coro1": {"coro": "ProcessFunc.coro1"},
            "coro2": {"coro": "ProcessFunc.coro2"},
            "coro3": {"coro": "ProcessFunc.coro3"},
            "out": {"coro": "ProcessFunc.outputcoro", "properties": {"aggregate_inputs": False}},
        },
        "graph": {
            "inp": ("coro1",),
            "coro1": ("coro2", "coro3"),
            "coro2": ("out",),
            "coro3": ("out",),
            "out": None,
        },
    }


def doubling_graph(strings: list[str], links: int) -> dict[str, Any]:
    """``inp -> c0 -> ... -> c{links-1} -> out``: each ``coro3`` doubles a string (plus one)."""
    nodes: dict[str, Any] = {
        "inp": {"coro": "ProcessFunc.inputcoro", "args": {"strings_from_client": strings}}
    }
    graph: dict[str, Any] = {"inp": ["c0"]}
    for i in range(links):
        nodes[f"c{i}"] = {"coro": "ProcessFunc.coro3"}
        graph[f"c{i}"] = [f"c{i + 1}" if i + 1 < links else "out"]
    nodes["out"] = {"coro": "ProcessFunc.outputcoro"}
    graph["out"] = None
    return {"nodes": nodes, "graph": graph}


def expected_results(strings: list[str]) -> Counter[str]:
    """What the original graph gives: coro2(coro1(s)) and coro3(coro1(s)) for each s."""
    return Counter([s[::-1].upper() for s in strings] + [s[::-1] + "-" + s for s in strings])


def paths(error: dict[str, Any]) -> list[str]:
    return [p["path"] for p in error.get("problems", [])]


@dataclass
class Served:
    url: str
    server: Any  # sio.service.DemoServer
    runner: web.AppRunner | None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def watch(self, kind: str, outcome: str | None = None) -> asyncio.Future[Any]:
        """A future resolved with the next RunEvent of ``kind`` (and ``outcome``) on the server."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def callback(event: Any) -> None:
            if (
                event.kind == kind
                and (outcome is None or event.outcome == outcome)
                and not fut.done()
            ):
                fut.set_result(event)
                unsubscribe()

        unsubscribe = self.server.subscribe(callback)
        return fut

    def collect(self, kind: str, count: int) -> asyncio.Future[list[Any]]:
        """A future resolved with the next ``count`` RunEvents of ``kind``."""
        fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        events: list[Any] = []

        def callback(event: Any) -> None:
            if event.kind == kind and not fut.done():
                events.append(event)
                if len(events) == count:
                    fut.set_result(events)
                    unsubscribe()

        unsubscribe = self.server.subscribe(callback)
        return fut


class Client:
    """A real socket.io client that records what the server sends it."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.results: list[Any] = []
        self.answers: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.first_result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.disconnected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sio.on("recv", self._recv)
        self.sio.on("pipeline_done", self._done)
        self.sio.on("pipeline_error", self._error)
        self.sio.on("disconnect", self._disconnect)

    async def _recv(self, data: Any) -> None:
        self.results.append(data)
        if not self.first_result.done():
            self.first_result.set_result(data)

    async def _done(self, data: Any) -> None:
        await self.answers.put(("pipeline_done", data))

    async def _error(self, data: Any) -> None:
        await self.answers.put(("pipeline_error", data))

    async def _disconnect(self, reason: Any = None) -> None:
        if not self.disconnected.done():
            self.disconnected.set_result(None)

    async def answer(self) -> tuple[str, Any]:
        """The next ``pipeline_done`` / ``pipeline_error`` (event name, data)."""
        return await self.answers.get()

    async def submit(self, graph: Any) -> tuple[str, Any]:
        # A 1-tuple is sent as exactly one argument, also when it is None
        # (a bare None would mean "no argument"); for a mapping the message
        # on the wire is the same as the original client's.
        await self.sio.emit("process_msg", (graph,))
        return await self.answer()

    async def done(self, graph: Any) -> dict[str, Any]:
        event, data = await self.submit(graph)
        assert event == "pipeline_done", data
        return data

    async def refused(self, graph: Any) -> dict[str, Any]:
        event, data = await self.submit(graph)
        assert event == "pipeline_error", data
        return data


def event_frame(event: str, *args: Any) -> str:
    """A socket.io EVENT packet in an engine.io MESSAGE, as a websocket text frame."""
    return "42" + json.dumps([event, *args], separators=(",", ":"))


class RawClient:
    """A websocket client speaking engine.io / socket.io frames by hand (it reads).

    It sends any frame, however wrong, and reads the server's frames:
    :meth:`event` returns the next socket.io event, answering pings on the way.
    """

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session = session
        self.ws = ws

    @classmethod
    async def connect(cls, served: Served, namespace: bool = True) -> RawClient:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(f"{served.url}/socket.io/?EIO=4&transport=websocket")
        client = cls(session, ws)
        opened = await client.frame()
        assert opened is not None and opened.startswith("0"), opened
        if namespace:
            await ws.send_str("40")
            connected = await client.frame()
            assert connected is not None and connected.startswith("40"), connected
        return client

    async def send(self, frame: str) -> None:
        await self.ws.send_str(frame)

    async def frame(self) -> str | None:
        """The next text frame; None once the server has closed the connection."""
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                if msg.data == "2":  # engine.io ping
                    await self.ws.send_str("3")
                    continue
                return str(msg.data)
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return None

    async def event(self) -> tuple[str, Any] | None:
        """The next socket.io event (name, data); None once the connection is closed."""
        while True:
            frame = await self.frame()
            if frame is None:
                return None
            if frame.startswith("42"):
                name, *args = json.loads(frame[2:])
                return name, (args[0] if args else None)
            if frame.startswith("41"):  # socket.io DISCONNECT
                return None

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


def _masked(text: str) -> bytes:
    """A client-to-server websocket text frame (clients must mask what they send)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        head = struct.pack("!BB", 0x81, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return head + mask + body


class SilentClient:
    """A websocket client on a bare TCP socket that sends frames and never reads.

    Its receive buffer is made small, so what the server sends it piles up
    on the server's side, as with a slow or hostile client.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def connect(cls, port: int, *, read_until: bytes | None = None) -> SilentClient:
        """Open a websocket and the socket.io namespace.

        With ``read_until``, it reads until those bytes arrived (say, the
        first result) and never reads again.
        """
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        client = cls(sock)
        await client.send("40")
        return client

    async def send(self, frame: str) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, _masked(frame))

    async def read_until(self, marker: bytes) -> None:
        """Read (only now) until ``marker`` has arrived; then the client reads no more."""
        loop = asyncio.get_running_loop()
        seen = b""
        while marker not in seen:
            chunk = await loop.sock_recv(self.sock, 4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            seen = seen[-len(marker) :] + chunk

    def close(self) -> None:
        self.sock.close()
