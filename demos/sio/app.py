"""Building and running the demo server: :func:`create_app`, :func:`serve`, :func:`main`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from .connections import Connections
from .frames import RateLimitedLog
from .limits import Limits
from .registry import REGISTRY
from .service import DemoServer
from .transport import SocketServer

__all__ = ["SERVER_KEY", "SHUTDOWN_SECONDS", "create_app", "main", "serve"]

log = logging.getLogger("pipelines.demo.server")

SERVER_KEY = web.AppKey("pipelines_demo_server", DemoServer)

#: After SIGINT or SIGTERM, :func:`serve` returns within this many seconds
#: whatever the clients do (the shutdown itself is bounded well below it).
SHUTDOWN_SECONDS = 4.0

SOCKETIO_PATH = "socket.io"


def create_app(
    limits: Limits | None = None,
    delay_scale: float = 1.0,
    registry: Mapping[str, Callable[..., Any]] = REGISTRY,
) -> tuple[web.Application, SocketServer]:
    """Build the aiohttp application and its socket.io server.

    ``delay_scale`` multiplies the demo's simulated I/O sleeps (tests use a
    small one). The :class:`DemoServer` is ``app[SERVER_KEY]``.

    To stop, await ``app[SERVER_KEY].shutdown()`` *before*
    ``runner.cleanup()``: aiohttp stops reading from every connection before
    it calls ``on_shutdown`` handlers, so a websocket closed from there only
    ends when the runner's ``shutdown_timeout`` expires. (``shutdown`` is
    also an ``on_shutdown`` handler, so ``web.run_app`` still ends cleanly,
    only slower.)
    """
    limits = limits or Limits()
    frame_log = RateLimitedLog(log, limits.bad_frames_logged, limits.bad_frame_log_seconds)
    sio = SocketServer(limits, frame_log)
    connections = Connections(sio.eio, limits.max_clients, frame_log, SOCKETIO_PATH)
    server = DemoServer(sio, limits, delay_scale, connections, registry)
    app = web.Application(middlewares=[connections.middleware])
    sio.attach(app, socketio_path=SOCKETIO_PATH)
    app[SERVER_KEY] = server
    app.on_shutdown.append(server.shutdown)
    return app, sio


async def serve(
    host: str, port: int, *, limits: Limits | None = None, delay_scale: float = 1.0
) -> None:
    """Serve until SIGINT or SIGTERM, then stop every graph and client and return.

    Returns within :data:`SHUTDOWN_SECONDS` of the signal, whatever the
    clients do.
    """
    app, _ = create_app(limits, delay_scale)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        for address in runner.addresses:
            print(
                f"serving socket.io on http://{address[0]}:{address[1]} (Ctrl-C to stop)",
                flush=True,
            )
        # The handlers stay during the shutdown: a second signal changes
        # nothing (the shutdown is bounded anyway) instead of a traceback.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                await app[SERVER_KEY].shutdown()
                await runner.cleanup()
        except TimeoutError:
            log.warning("demo server: shutdown took over %g s; exiting anyway", SHUTDOWN_SECONDS)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def main(argv: list[str] | None = None) -> None:
    """The command line: ``python demos/server.py [--host --port --delay-scale]``."""
    parser = argparse.ArgumentParser(description="pipelines socket.io demo server")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: loopback only)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    parser.add_argument(
        "--delay-scale",
        type=float,
        default=1.0,
        help="factor on the simulated I/O sleeps of coro1/2/3 (default 1: 3 s, 2 s, 1 s)",
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    asyncio.run(serve(options.host, options.port, delay_scale=options.delay_scale))
