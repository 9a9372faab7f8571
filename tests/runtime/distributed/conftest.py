"""Fixtures of the distributed tests: a private redis-server per test module, flushed per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

HERE = Path(__file__).resolve().parent
sys.path.append(
    str(HERE)
)  # the helper modules beside this file (after tests/: conftest stays ours)

from redis_server import RedisServer, redis_binary  # noqa: E402


@pytest.fixture(scope="module")
def redis_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server for a test module (flushed before each test)."""
    server = RedisServer(redis_binary(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_module: RedisServer) -> str:
    """The URL of an empty private Redis."""
    with redis.Redis(port=redis_module.port) as client:
        client.flushall()
    return redis_module.url
