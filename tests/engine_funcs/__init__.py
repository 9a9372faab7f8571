"""Helpers shared by the engine tests (tests/test_engine_*.py).

Everything a node runs in another process lives in :mod:`engine_funcs.procs`
(module level, importable by worker processes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from pipelines import Plumber, RunResult

__all__ = ["Gate", "Recorder", "chain_spec", "run_spec"]


async def run_spec(spec: dict[str, Any], **kwargs: Any) -> RunResult:
    """Build a Plumber for ``spec`` and run it to the end, bounded by a safety timeout.

    The timeout only turns a hang into a clear failure; no test relies on it.
    """
    plumber = Plumber(spec, **kwargs)
    async with asyncio.timeout(30):
        return await plumber.run()


def chain_spec(*nodes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A linear graph ``a -> b -> c`` from ``(name, node_spec)`` pairs, in order."""
    names = [name for name, _ in nodes]
    graph: dict[str, Any] = {}
    for i, name in enumerate(names):
        graph[name] = [names[i + 1]] if i + 1 < len(names) else None
    return {"nodes": dict(nodes), "graph": graph}


class Gate:
    """Calls wait at the gate until ``size`` of them are waiting; then all are released.

    Released in the order given by ``release`` (``"reverse"``: the last to
    arrive goes first), so that later items finish before earlier ones.
    Used to prove concurrency (``size`` calls really are in flight at once)
    and ordering, without sleeping.
    """

    def __init__(self, size: int, release: str = "reverse") -> None:
        self.size = size
        self.release = release
        self.waiting: list[tuple[Any, asyncio.Future[None]]] = []
        self.in_flight = 0
        self.peak = 0
        self.completed: list[Any] = []

    async def passage(self, item: Any) -> Any:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        fut = asyncio.get_running_loop().create_future()
        self.waiting.append((item, fut))
        if len(self.waiting) == self.size:
            batch, self.waiting = self.waiting, []
            if self.release == "reverse":
                batch.reverse()
            for _, f in batch:
                f.set_result(None)
        try:
            await fut
        finally:
            self.in_flight -= 1
        self.completed.append(item)
        return item

    def flush(self) -> None:
        """Release whatever waits (the last, incomplete batch), in release order."""
        batch, self.waiting = self.waiting, []
        if self.release == "reverse":
            batch.reverse()
        for _, f in batch:
            if not f.done():
                f.set_result(None)


class Recorder:
    """A plain async sink that keeps what it receives."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    async def __call__(self, item: Any) -> None:
        self.items.append(item)


def flatten(bags: Iterable[Iterable[Any]]) -> list[Any]:
    return [token for bag in bags for token in bag]
