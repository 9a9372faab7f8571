"""The loop of a node whose operator only routes or paces its calls.

``key`` with ``concurrency: N`` (one key's items called in order by one
worker, other keys in parallel) and ``rate`` (calls paced by a token
bucket) change how calls are made, not what they are made on: each item
(a tuple for a zip) is one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..policy import handle_failure
from ..signals import is_failure
from ..taking import END, take_one, take_zip
from .calling import NO_KEY, Calls

if TYPE_CHECKING:
    from ..node import Node

__all__ = ["run_plain"]


async def run_plain(node: Node, calls: Calls) -> None:
    """Submit every item as one call, with its key when the node has a ``key``."""
    key_fn = node.spec.functions.get("key")
    keyed = key_fn is not None and node.spec.options.concurrency > 1
    take = take_zip if len(node.inputs) > 1 else take_one
    stats = node.stats
    while True:
        item = await take(node)
        if item is END:
            return
        stats.received += 1
        key: Any = NO_KEY
        if keyed:
            assert key_fn is not None
            try:
                key = key_fn(item)
                hash(key)
            except BaseException as exc:
                if not is_failure(exc):
                    raise
                await handle_failure(node, item, exc)
                continue
        await calls.submit(item, 1, key)
