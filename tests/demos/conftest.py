"""Fixtures of the socket.io demo tests: a real server on a free loopback port, real clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from sio.app import SERVER_KEY, create_app
from sio_harness import FAST, Client, Served


@pytest.fixture
async def start_server() -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    runners: list[web.AppRunner] = []

    async def start(limits: Any = None, delay_scale: float = FAST) -> Served:
        app, _ = create_app(limits=limits, delay_scale=delay_scale)
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return Served(f"http://{host}:{port}", app[SERVER_KEY], runner)

    yield start
    for runner in runners:
        await runner.app[SERVER_KEY].shutdown()  # idempotent
        await runner.cleanup()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[Served], Awaitable[Client]]]:
    clients: list[Client] = []

    async def make(served: Served) -> Client:
        client = Client()
        await client.sio.connect(served.url, wait_timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.sio.disconnect()
