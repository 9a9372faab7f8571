"""While a run is under way: call sampling, stats events, and how a failed run's exceptions leave.

:func:`watch` is what the run task does while its nodes work: with nobody
subscribed and sampling off it just waits for them; otherwise it arms call
timing every :data:`SAMPLE_PERIOD` and, every stats period, pokes the loops
(so they publish their counters) and sends a ``stats`` event.
:func:`raise_from_group` turns the task group's exception group into the one
exception ``run()`` raises.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import GraphStalled, PipelineError
from .building import Edge
from .events import EventBus
from .node import Node
from .sampling import arm, poke
from .signals import Escalated
from .stall import Stalled

__all__ = ["SAMPLE_PERIOD", "emit_stats", "first_in_group", "raise_from_group", "watch"]

#: Seconds between two timed calls of a node when ``sample_calls`` is on.
SAMPLE_PERIOD = 0.05


async def watch(
    tasks: Iterable[asyncio.Task[None]],
    nodes: Mapping[str, Node],
    events: EventBus,
    edges: list[Edge],
    sampling: bool,
    stats_interval: float,
) -> None:
    """Wait for every node task; meanwhile sample calls and send periodic ``stats`` events."""
    pending = set(tasks)
    period = min(stats_interval, SAMPLE_PERIOD) if sampling else stats_interval
    next_stats = time.monotonic() + stats_interval
    while pending:
        if not events and not sampling:
            _, pending = await asyncio.wait(pending)
            break
        _, pending = await asyncio.wait(pending, timeout=period)
        if sampling:
            for node in nodes.values():
                arm(node)
        now = time.monotonic()
        if events and now >= next_stats - 1e-3:
            next_stats = now + stats_interval
            for node in nodes.values():
                poke(node)  # busy loops publish their counters on their next item
            emit_stats(nodes, events, edges)


def emit_stats(nodes: Mapping[str, Node], events: EventBus, edges: list[Edge]) -> None:
    """Send one ``stats`` event: every node's counters and input depth, every edge's figures."""
    if events:
        events.emit(
            "stats",
            stats={node.name: node.sync_peak().copy() for node in nodes.values()},
            depths={node.name: node.depth for node in nodes.values()},
            links=[edge.figures() for edge in edges],
        )


def raise_from_group(group: BaseExceptionGroup[Any]) -> None:
    """Raise the one exception a failed run stands for, if the group holds one.

    In order: a node's ``KeyboardInterrupt``/``SystemExit`` (as itself, with
    ``pipelines_node``), a node's ``PipelineError``, a stall (as
    ``GraphStalled``). Returns when none is there (the caller re-raises the group).
    """
    escalated = first_in_group(group, Escalated)
    if escalated is not None:
        exit_error = escalated.error
        exit_error.pipelines_node = escalated.node
        raise exit_error.with_traceback(exit_error.__traceback__) from None
    error = first_in_group(group, PipelineError)
    if error is not None:
        raise error from error.__cause__
    stalled = first_in_group(group, Stalled)
    if stalled is not None:
        raise GraphStalled(stalled.waits) from None


def first_in_group(group: BaseExceptionGroup[Any], kind: type[BaseException]) -> Any:
    """The first exception of ``kind`` in ``group``, nested groups included; None if none."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found = first_in_group(exc, kind)
            if found is not None:
                return found
        elif isinstance(exc, kind):
            return exc
    return None
