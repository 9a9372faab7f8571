"""Fixtures of the server tests: a real store file and the real aiohttp server on a free port."""

from __future__ import annotations

import contextlib
from pathlib import Path

import aiohttp
import pytest

from pipelines.server import Server, load_hosted
from pipelines.store import Store

SPECS = Path(__file__).resolve().parent.parent / "specs"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "runs.db") as s:
        yield s


@pytest.fixture
async def serve(store):
    """``await serve(*spec_names, **options)`` -> (server, session); both closed at the end."""
    opened: list[tuple[Server, aiohttp.ClientSession]] = []

    async def start(*specs: str, **options) -> tuple[Server, aiohttp.ClientSession]:
        options.setdefault("poll_interval", 0.1)
        hosted = load_hosted([SPECS / name for name in specs])
        server = Server(store, hosted, port=0, **options)
        await server.start()
        session = aiohttp.ClientSession(server.url)
        opened.append((server, session))
        return server, session

    yield start
    for server, session in opened:
        await session.close()
        with contextlib.suppress(Exception):
            await server.stop(drain_timeout=5)
