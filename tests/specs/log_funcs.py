"""Functions of the run-log test specs (tests/specs/talking.yaml)."""

from __future__ import annotations

import asyncio

from pipelines import get_run_logger


async def ticks(delay: float = 0.05):
    """An endless stream of 1, 2, 3... one every ``delay`` seconds."""
    i = 0
    while True:
        i += 1
        yield i
        await asyncio.sleep(delay)


async def say(x: int) -> int:
    """Log one record per item (a warning every fifth)."""
    log = get_run_logger()
    if x % 5 == 0:
        log.warning("tick %d <b>is</b> a fifth", x)
    else:
        log.info("tick %d", x)
    return x
