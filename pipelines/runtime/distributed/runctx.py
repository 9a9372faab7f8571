"""What every part of one distributed run shares in one process.

A :class:`RunContext` holds the connection, the run's keys and layout, the
transport options, the serializer, the clock and who this process is (its
instance name and the heartbeat key that says it is alive). Workers and the
coordinator each make one per run they take part in.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ...plan import Plan
from ...spec.transport import TransportSpec
from ..clock import Clock
from .codec import Codec
from .connection import Redis
from .keys import RunKeys
from .topology import Topology

__all__ = ["EVENTS_MAXLEN", "GROUP", "RunContext", "RunGone", "now_ms"]

#: The one consumer group of every stream (a stream has one consuming node).
GROUP = "g"
#: Events kept in a run's events stream at most (approximately): they are
#: signals for the coordinator, which reads them as they come.
EVENTS_MAXLEN = 10_000


class RunGone(Exception):
    """The run is no longer running (finished, failed, stopped, or its keys are gone)."""


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of times kept in Redis."""
    return int(time.time() * 1000)


@dataclass(slots=True)
class RunContext:
    """One run, as one process takes part in it."""

    redis: Redis
    keys: RunKeys
    plan: Plan
    topology: Topology
    transport: TransportSpec
    codec: Codec
    clock: Clock
    instance: str  # this process: consumer names are "<instance>/<node>"
    heartbeat: str  # the key whose presence says this process is alive
    outbox: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.keys.run_id

    def consumer(self, node: str) -> str:
        """This process's consumer (replica) name for ``node``."""
        return f"{self.instance}/{node}"

    async def emit(self, kind: str, node: str, **data: Any) -> None:
        """Report an event to the coordinator (only while the run is running)."""
        await self.redis.event(
            keys=[self.keys.meta, self.keys.events],
            args=[EVENTS_MAXLEN, kind, node, json.dumps(data, default=str)],
        )

    def queue_event(self, kind: str, node: str, **data: Any) -> None:
        """Report an event with the next flush (callable from synchronous code)."""
        if len(self.outbox) < EVENTS_MAXLEN:
            self.outbox.append((kind, node, data))

    async def flush_events(self) -> None:
        """Send the queued events (one script call: no pipeline, whose retry after a
        Redis restart would not reload the script)."""
        queued, self.outbox = self.outbox, []
        if not queued:
            return
        args: list[Any] = [EVENTS_MAXLEN]
        for kind, node, data in queued:
            args += (kind, node, json.dumps(data, default=str))
        await self.redis.event(keys=[self.keys.meta, self.keys.events], args=args)
