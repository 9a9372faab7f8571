"""Connecting to Redis: retries through a restart, raw replies, the scripts.

Every command is retried on a lost connection for ``transport.reconnect``
seconds (backing off up to half a second), so a Redis restart pauses a run
instead of failing it. A retried script may have run before its reply was
lost: the scripts are written for that (a step re-checks that the caller
still owns its entries, a source's batch carries its number), so nothing is
handed on twice. Stream replies are kept raw (lists), the form the scripts
return too.
"""

from __future__ import annotations

import math
import socket
import urllib.parse
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import scripts

__all__ = ["Redis", "connect", "reachable", "redact"]

_BACKOFF_CAP = 0.5
_KEEPALIVE: dict[int, int] = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None
}
_RAW = ("XREADGROUP", "XREAD", "XAUTOCLAIM", "XRANGE", "XPENDING")


class Redis:
    """A client and the run's scripts, registered on it."""

    def __init__(self, client: aioredis.Redis, url: str) -> None:
        # Typed loosely: redis-py's reply types are unions of every RESP shape,
        # and the replies used here are the raw lists RESP2 gives.
        self.client: Any = client
        self.url = url
        self.step = client.register_script(scripts.STEP)
        self.add = client.register_script(scripts.ADD)
        self.join = client.register_script(scripts.JOIN)
        self.finish = client.register_script(scripts.FINISH)
        self.reclaim = client.register_script(scripts.RECLAIM)
        self.keep = client.register_script(scripts.KEEP)
        self.end = client.register_script(scripts.END)
        self.register = client.register_script(scripts.REGISTER)
        self.event = client.register_script(scripts.EVENT)
        self.fail = client.register_script(scripts.FAIL)

    async def wait_space(self, wake: str, timeout: float = 0.05) -> None:
        """Wait until a consumer frees space on a full link (or ``timeout``: try anyway)."""
        await self.client.blpop([wake], timeout=timeout)

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()

    def __repr__(self) -> str:
        return f"<Redis {redact(self.url)}>"


def connect(url: str, reconnect: float = 30.0) -> Redis:
    """A client for ``url`` that retries lost connections for about ``reconnect`` seconds."""
    retries = max(1, math.ceil(reconnect / _BACKOFF_CAP)) + 4  # the first backoffs are short
    retry = Retry(ExponentialBackoff(cap=_BACKOFF_CAP, base=0.01), retries)
    client = aioredis.Redis.from_url(
        url,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        # No socket_timeout: redis-py then wraps every read in asyncio.timeout,
        # and a task cancelled inside it at the wrong moment can lose the
        # cancellation (seen here with Python 3.11; redis-py#2028, #2551).
        # A dead peer is found by TCP keepalive instead (about 25 s).
        socket_timeout=None,
        socket_connect_timeout=2.0,
        socket_keepalive=True,
        socket_keepalive_options=_KEEPALIVE,
        protocol=2,  # RESP2: stream replies as lists, the shape the scripts return too
    )
    for command in _RAW:
        client.set_response_callback(command, _raw)
    return Redis(client, url)


async def reachable(url: str) -> None:
    """Fail fast (``ConnectionError`` naming the URL) when Redis does not answer at all.

    The long retries of :func:`connect` are for a Redis that restarts under a
    run; a wrong URL should say so at once.
    """
    probe = connect(url, reconnect=1.0)
    try:
        await probe.client.ping()
    except (RedisError, OSError) as exc:
        raise ConnectionError(f"cannot reach Redis at {redact(url)}: {exc}") from None
    finally:
        await probe.close()


def _raw(response: Any, **options: Any) -> Any:
    return response


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urllib.parse.urlunsplit(parts._replace(netloc=user + host))
