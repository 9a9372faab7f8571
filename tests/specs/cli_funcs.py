"""Functions for the CLI and diagram test specs (tests/specs/*.yaml)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from pipelines import DeadLetter


async def numbers(n: int = 5, start: int = 1):
    """Yield ``start`` .. ``start + n - 1``."""
    for i in range(start, start + n):
        yield i


async def double(x: int, factor: int = 2) -> int:
    return x * factor


async def fail_on(x: int, bad: int = 3) -> int:
    """Pass items through; raise ValueError on ``bad``."""
    if x == bad:
        raise ValueError(f"{x} is bad")
    return x


async def keep(x: Any) -> Any:
    return x


async def odd_values(x: int) -> Any:
    """Return values JSON cannot hold as such (a set, a complex number)."""
    return {"n": x, "set": {x}, "complex": complex(x, 1), "tuple": (x, x)}


async def ticks(marker: str = "tick"):
    """An endless source; tells stderr once it has produced its first item."""
    i = 0
    while True:
        yield i
        if i == 0:
            print(f"{marker} 0", file=sys.stderr, flush=True)
        i += 1
        await asyncio.sleep(0.01)


async def stuck(x: int) -> int:
    """Take one item, say so on stderr, then never finish (only a hard stop ends it)."""
    print(f"stuck on {x}", file=sys.stderr, flush=True)
    await asyncio.Event().wait()
    return x


# -- the demo graph (tests/specs/demo.yaml, drawn in docs/diagram-demo.svg) ------


async def words(text: str):
    for word in text.split():
        yield word


async def clean(word: str) -> str:
    return word.strip(".,;:!?").lower()


async def upper(word: str) -> str:
    return word.upper()


def length(word: str) -> int:
    return len(word)


async def pair(item: tuple[str, int]) -> str:
    word, size = item
    return f"{word}:{size}"


async def check(entry: str, max_len: int = 4) -> str:
    word, _, size = entry.partition(":")
    if int(size) > max_len:
        raise ValueError(f"{word} is longer than {max_len}")
    return entry


async def reject(dead: DeadLetter) -> str:
    return f"{dead.node}: {dead.item} ({dead.error})"


async def chatty(x: int) -> int:
    """Print to stdout from the node itself (the --json test keeps stdout clean)."""
    print(f"chatty says {x}")
    return x


def chatty_thread(x: int) -> int:
    """The same from a plain def, which runs in a thread."""
    print(f"thread says {x}")
    return x


async def exits(x: int, code: int = 3) -> int:
    """Call sys.exit on the second item."""
    if x == 2:
        sys.exit(code)
    return x


async def logs(x: int) -> int:
    """Write one run-log record per item."""
    from pipelines import get_run_logger

    get_run_logger().info("got %s", x)
    return x
