"""Functions for the workflow test specs (subgraphs, hooks, resources)."""

from __future__ import annotations

import contextlib

EVENTS: list[str] = []


async def numbers(n: int = 4):
    for i in range(n):
        yield i


async def double(x: int) -> int:
    return 2 * x


async def plus_one(x: int) -> int:
    return x + 1


async def keep(x):
    return x


async def fetch(x: int, db) -> tuple[int, str]:
    return x, db["name"]


@contextlib.asynccontextmanager
async def open_db():
    EVENTS.append("db open")
    try:
        yield {"name": "db"}
    finally:
        EVENTS.append("db closed")


def before(item):
    EVENTS.append(f"before {item}")
