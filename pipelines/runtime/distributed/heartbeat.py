"""Heartbeats: a live worker is a key in Redis that expires unless renewed.

A worker process writes ``pipelines:worker:<instance>`` (a JSON description:
name, host, pid, spec, nodes, runs) every ``heartbeat`` seconds of its clock,
with a time to live of three intervals. When the process dies the key
expires: its replicas count as dead (their links can end, their entries are
taken over), and ``pipelines workers`` no longer lists it. A worker that
stops normally deletes its key at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from ..clock import SYSTEM_CLOCK, Clock
from .keys import Keys

__all__ = ["Heartbeat", "list_workers"]


class Heartbeat:
    """Renews one key every ``interval`` seconds; it expires after ``3 * interval``."""

    def __init__(
        self,
        client: aioredis.Redis,
        key: str,
        payload: Callable[[], dict[str, Any]],
        interval: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.client = client
        self.key = key
        self.payload = payload
        self.interval = interval
        self.clock = clock
        self.beats = 0

    @property
    def ttl_ms(self) -> int:
        """How long one beat keeps the key alive."""
        return int(3 * self.interval * 1000)

    async def beat(self) -> None:
        """Write the key now, with its time to live."""
        data = dict(self.payload())
        data["beat"] = time.time()
        await self.client.set(self.key, json.dumps(data, default=str), px=self.ttl_ms)
        self.beats += 1

    async def run(self) -> None:
        """Beat every ``interval`` seconds until cancelled."""
        while True:
            await self.beat()
            await self.clock.sleep(self.interval)

    async def remove(self) -> None:
        """The process stops: say so at once instead of letting the key expire."""
        await self.client.delete(self.key)


async def list_workers(client: aioredis.Redis, keys: Keys | None = None) -> list[dict[str, Any]]:
    """The live workers: their heartbeat data, with ``expires_in`` seconds, sorted by name."""
    keys = keys or Keys()
    found: list[str] = [key async for key in client.scan_iter(match=keys.workers_pattern())]
    if not found:
        return []
    pipe = client.pipeline(transaction=False)
    for key in found:
        pipe.get(key)
        pipe.pttl(key)
    replies = await pipe.execute()
    workers: list[dict[str, Any]] = []
    for i in range(0, len(replies), 2):
        raw, ttl = replies[i], replies[i + 1]
        if raw is None:
            continue  # expired between the scan and the read
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        data["expires_in"] = max(0, int(ttl)) / 1000 if ttl is not None else None
        workers.append(data)
    return sorted(workers, key=lambda w: (str(w.get("name")), str(w.get("instance"))))
