"""A small, flaky customer API for the ETL demo (aiohttp, loopback, free port).

``GET /customers`` lists the customer ids (this index never fails);
``GET /customers/{id}`` returns one messy record, or HTTP 503 for a seeded
share of requests (``failure_rate``). Which request fails depends only on
``(seed, id, attempt number)``, so a run is reproducible whatever order the
concurrent requests arrive in.

:class:`CustomerApi` is an async context manager: the demo's spec makes it a
run resource, up from before the first node starts until after the last one
has finished.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["ApiStats", "CustomerApi", "make_record"]

FIRST = ["ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "linus", "guido", "ken"]
LAST = [
    "lovelace",
    "hopper",
    "turing",
    "dijkstra",
    "liskov",
    "knuth",
    "hamilton",
    "torvalds",
    "van rossum",
    "thompson",
]
DOMAINS = ["Example.COM", "example.org", "MAIL.test"]
COUNTRIES = ["gb", "us", "nl", " fr", "de ", "fi"]


def make_record(seed: int, customer_id: int) -> dict[str, Any]:
    """The raw record served for ``customer_id`` (messy on purpose: spacing, case, cents)."""
    rng = random.Random(f"{seed}:record:{customer_id}")
    first, last = rng.choice(FIRST), rng.choice(LAST)
    pad = " " * rng.randint(0, 2)
    case = rng.choice((str.lower, str.upper, str.title))
    return {
        "id": customer_id,
        "name": f"{pad}{case(first)}  {case(last)}{pad}",
        "email": f" {first.title()}.{last.replace(' ', '')}{customer_id}@{rng.choice(DOMAINS)} ",
        "country": rng.choice(COUNTRIES),
        "balance_cents": rng.randint(-5_000, 500_000),
        "signup": f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }


@dataclass
class ApiStats:
    """What the API saw: requests, injected failures (503) and records served."""

    requests: int = 0
    failures: int = 0
    served: int = 0


class CustomerApi:
    """The API server and an HTTP session to it; ``start()`` then ``stop()``, once."""

    def __init__(self, count: int, failure_rate: float, seed: int, latency: float = 0.0) -> None:
        if not 0 <= failure_rate <= 1:
            raise ValueError(f"failure_rate must be between 0 and 1, got {failure_rate!r}")
        self.count = count
        self.failure_rate = failure_rate
        self.seed = seed
        self.latency = latency
        self.stats = ApiStats()
        self.url: str | None = None
        self._requests_per_id: Counter[int] = Counter()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._runner is not None

    async def __aenter__(self) -> CustomerApi:
        """Start the server (the demo's run resource: see ``etl_steps.customer_api``)."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- server side -------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/customers", self._index)
        app.router.add_get("/customers/{id:\\d+}", self._record)
        return app

    async def _index(self, request: web.Request) -> web.Response:
        return web.json_response({"ids": list(range(1, self.count + 1))})

    async def _record(self, request: web.Request) -> web.Response:
        customer_id = int(request.match_info["id"])
        self.stats.requests += 1
        if not 1 <= customer_id <= self.count:
            return web.json_response({"error": "no such customer"}, status=404)
        attempt = self._requests_per_id[customer_id]
        self._requests_per_id[customer_id] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if random.Random(f"{self.seed}:fail:{customer_id}:{attempt}").random() < self.failure_rate:
            self.stats.failures += 1
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        self.stats.served += 1
        return web.json_response(make_record(self.seed, customer_id))

    async def start(self) -> None:
        """Serve on a free loopback port; ``url`` is set once it listens."""
        runner = web.AppRunner(self._app(), shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession(self.url, timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        """Close the session, then the server (idempotent)."""
        session, self._session = self._session, None
        runner, self._runner = self._runner, None
        try:
            if session is not None:
                await session.close()
        finally:
            if runner is not None:
                await runner.cleanup()

    # -- client side -----------------------------------------------------------------

    async def list_ids(self) -> list[int]:
        assert self._session is not None, "the API is not running"
        async with self._session.get("/customers") as response:
            response.raise_for_status()
            return list((await response.json())["ids"])

    async def get_customer(self, customer_id: int) -> dict[str, Any]:
        """Fetch one record; raises ``aiohttp.ClientResponseError`` on a 503."""
        assert self._session is not None, "the API is not running"
        async with self._session.get(f"/customers/{customer_id}") as response:
            response.raise_for_status()
            return dict(await response.json())
