"""Functions of the distributed test specs (resolved beside the spec files, by every worker)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from pipelines import DeadLetter
from pipelines.runtime.distributed import current_item_id

#: Calls per item in this process (in-process workers share it): the keep-alive test.
CALLS: dict[Any, int] = {}


async def numbers(n: int = 10, start: int = 0):
    for i in range(start, start + n):
        yield i


def evens(n: int = 10):
    yield from range(0, 2 * n, 2)


async def odds(n: int = 10):
    for i in range(1, 2 * n, 2):
        yield i


async def ticks(pause: float = 0.002):
    """An endless source."""
    i = 0
    while True:
        yield i
        i += 1
        await asyncio.sleep(pause)


async def double(x: int) -> int:
    return 2 * x


async def inc(x: int) -> int:
    await asyncio.sleep(0)
    return x + 1


def label(x: int) -> str:
    return f"#{x}"


async def explode(x: int):
    """Two results per item (a generator transform)."""
    yield x
    yield -x


async def keep(x: Any) -> Any:
    return x


async def pair(t: tuple[Any, Any]) -> Any:
    return t


async def check(x: int, every: int = 7) -> int:
    if x % every == 0 and x:
        raise ValueError(f"{x} is a multiple of {every}")
    return x


async def fail_on(x: int, bad: int = 13) -> int:
    if x == bad:
        raise ValueError(f"{x} is bad")
    return x


async def reject(dead: DeadLetter) -> str:
    return f"{dead.node}: {dead.item} ({type(dead.error).__name__}: {dead.error}) x{dead.attempts}"


async def slow_once(x: int, pause: float = 1.0) -> int:
    """Counts its calls; item 0 takes ``pause`` seconds."""
    CALLS[x] = CALLS.get(x, 0) + 1
    if x == 0:
        await asyncio.sleep(pause)
    return x


async def item_id(x: Any) -> Any:
    """The stable id of the item, next to the item."""
    return (current_item_id(), x)


def thread_item_id(x: Any) -> Any:
    """The same from a plain def (runs in the worker's thread pool)."""
    return (current_item_id(), x)


async def slow_sink(x: Any, pause: float = 0.001) -> Any:
    await asyncio.sleep(pause)
    return x


def record(x: Any, folder: str = ".") -> None:
    """A sink outside Redis: append the item's id to this process's file (flushed)."""
    path = os.path.join(folder, f"{os.getpid()}.ids")
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{current_item_id()} {x}\n")


async def busy(x: int, pause: float = 0.0005) -> int:
    """A little work per item (the kill test's pace)."""
    time.sleep(pause)
    return x


class Upstream:
    """An upstream-style node (the original project's convention)."""

    @classmethod
    async def first(cls, self, q_elt):
        return (self.name, q_elt[0])


async def to_complex(x: int) -> complex:
    """A value JSON cannot carry."""
    return complex(x, 1)
