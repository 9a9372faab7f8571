"""Functions of the run store and server test specs (tests/specs/slow.yaml, xss.yaml...)."""

from __future__ import annotations

import asyncio
import sys


async def slow_numbers(n: int = 100, delay: float = 0.01):
    """Yield 1..n, one every ``delay`` seconds; say on stderr when the first is out."""
    for i in range(1, n + 1):
        yield i
        if i == 1:
            print("first item", file=sys.stderr, flush=True)
        await asyncio.sleep(delay)


async def double(x: int) -> int:
    return 2 * x


async def keep(x):
    return x


async def meet(folder: str, me: str, other: str, n: int = 50):
    """A source that starts only once ``other`` has started too (a rendezvous through files),
    so two processes are certainly running at once; then yields 1..n."""
    from pathlib import Path

    Path(folder, me).touch()
    while not Path(folder, other).exists():
        await asyncio.sleep(0.01)
    for i in range(1, n + 1):
        yield i
        await asyncio.sleep(0.005)


async def orders(delay: float = 0.02):
    """An endless stream of orders, one every ``delay`` seconds."""
    i = 0
    while True:
        i += 1
        yield {"id": i, "amount": (i * 37) % 100}
        await asyncio.sleep(delay)


async def enrich(order: dict) -> dict:
    await asyncio.sleep(0.01)
    return {**order, "vat": round(order["amount"] * 0.2, 2)}


async def check(order: dict) -> dict:
    if order["id"] % 7 == 0:
        raise ValueError(f"order {order['id']} has no customer")
    return order
