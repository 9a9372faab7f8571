"""Helpers of the distributed tests: specs of specs/, in-process workers, runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pipelines import Plumber
from pipelines.runtime.distributed import Worker
from pipelines.spec.loader import load_file

__all__ = ["SPECS", "plumber", "run_on", "spec_data", "workers"]

SPECS = Path(__file__).resolve().parent / "specs"


def spec_data(name: str, url: str, **transport: Any) -> dict[str, Any]:
    """A spec of specs/ with its links on ``url`` (and these transport options)."""
    data = load_file(SPECS / name)
    data["transport"] = {**(data.get("transport") or {}), **transport, "redis": url}
    return data


def plumber(name: str, url: str, **transport: Any) -> Plumber:
    """A Plumber for a spec of specs/, distributed on ``url``."""
    return Plumber(spec_data(name, url, **transport), base_dir=SPECS, source=str(SPECS / name))


@asynccontextmanager
async def workers(
    name: str, url: str, count: int = 1, **kwargs: Any
) -> AsyncIterator[list[Worker]]:
    """``count`` workers of specs/NAME in this process, stopped (drained) at the end."""
    transport = kwargs.pop("transport", None)
    if transport:
        data = load_file(SPECS / name)
        data["transport"] = {**(data.get("transport") or {}), **transport}
        made = [Worker(data, url, base_dir=SPECS, name=f"w{i}", **kwargs) for i in range(count)]
    else:
        made = [Worker(SPECS / name, url, name=f"w{i}", **kwargs) for i in range(count)]
    tasks = [asyncio.create_task(w.run()) for w in made]
    try:
        for w in made:
            await w.wait_ready()
        yield made
    finally:
        for w in made:
            w.request_stop(drain=False)
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_on(name: str, url: str, count: int, **transport: Any) -> Any:
    """Run specs/NAME on ``count`` in-process workers; the RunResult (or the error raised)."""
    async with workers(name, url, count, transport=transport or None):
        try:
            return await plumber(name, url, **transport).run()
        except Exception as exc:
            return exc
