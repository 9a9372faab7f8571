"""Functions of the quickstart graph (graph.yaml beside this file)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

TEXT = """\
the user only writes the functions that do the work
the engine wires bounded links between them
items stream from sources through transforms to sinks
"""


async def lines(text: str = TEXT) -> AsyncIterator[str]:
    """Source: one line of text at a time."""
    for line in text.splitlines():
        await asyncio.sleep(0)  # a real source would await I/O here
        yield line


async def words(line: str) -> AsyncIterator[str]:
    """Split a line into words: an async generator yields 0..n results per item."""
    for word in line.split():
        yield word


async def shout(word: str) -> str:
    """Upper-case a word."""
    return word.upper()


def measure(word: str) -> int:
    """A plain def function: the engine runs it in a thread, off the event loop."""
    return len(word)


async def label(pair: tuple[str, int]) -> str:
    """A zip node gets one item from each input, as a tuple, in graph order."""
    loud, length = pair
    return f"{loud}:{length}"
