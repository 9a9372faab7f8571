"""The coordinator's view of a distributed run: what the workers report and have done.

:class:`Monitor` reads the run's events stream (``node_started``,
``node_failed``, ``node_finished`` from the workers) and the streams of
``collect: true`` nodes (their results, kept with their sequence numbers so
that ``result.outputs`` comes out in the order of a run in one process), and
takes :class:`Snapshot` s of the run's state: the status, the finished
nodes, each node's counters and replicas, each link's backlog. It re-emits
what it learns as the standard run events on the Plumber's bus, so every
observer of a local run (live view, run store) sees a distributed one too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ...errors import remote_error
from ..events import EventBus
from ..stats import NodeStats
from .runctx import RunContext
from .seqs import Seq, Seqs

__all__ = ["Monitor", "Snapshot", "wall_to_monotonic"]

_COUNTERS = ("received", "emitted", "failed", "retried", "dropped", "peak_in_flight")


def wall_to_monotonic(ms: int) -> float:
    """A wall-clock time (ms, from any machine) on this process's monotonic clock."""
    return time.monotonic() - (time.time() - ms / 1000)


@dataclass(slots=True)
class Snapshot:
    """The state of a run at one moment."""

    status: str
    error: dict[str, Any] | None
    finished: dict[str, int]  # node -> wall ms
    stats: dict[str, NodeStats]
    links: dict[str, int]  # link name -> backlog (items)
    depths: dict[str, int]  # node -> backlog of its input links
    replicas: dict[str, int]  # node -> live replicas
    registered: dict[str, int] = field(default_factory=dict)  # node -> replicas ever


class Monitor:
    """Reads a run's events and collected results; takes snapshots."""

    def __init__(self, ctx: RunContext, events: EventBus, workers_nodes: list[str]) -> None:
        self.ctx = ctx
        self.events = events
        self.nodes = workers_nodes  # the nodes the workers run (not the sources)
        keys = ctx.keys
        plan = ctx.plan
        self.collecting = [n for n in workers_nodes if plan.nodes[n].options.collect]
        self.positions: dict[str, str] = {keys.events: "0-0"}
        self.positions.update({keys.outputs(n): "0-0" for n in self.collecting})
        self.by_stream = {keys.outputs(n): n for n in self.collecting}
        self.collected: dict[str, list[tuple[Seq, Any]]] = {n: [] for n in self.collecting}
        self.started: dict[str, float] = {}
        self.reported_finished: set[str] = set()

    # -- streams -----------------------------------------------------------------

    async def poll(self, block_ms: int | None) -> bool:
        """Read new events and results (waiting up to ``block_ms``); True if anything came."""
        reply = await self.ctx.redis.client.xread(self.positions, block=block_ms)
        if not reply:
            return False
        keys = self.ctx.keys
        for stream, entries in reply:
            name = stream.decode()
            if not entries:
                continue
            self.positions[name] = entries[-1][0].decode()
            if name == keys.events:
                for _, fields in entries:
                    self._event(fields)
            else:
                await self._results(name, entries)
        return True

    def _event(self, fields: list[bytes]) -> None:
        data = dict(zip(fields[::2], fields[1::2], strict=True))
        kind = data[b"k"].decode()
        node = data[b"n"].decode()
        info = json.loads(data[b"d"])
        if kind == "node_started" and node not in self.started:
            self.started[node] = time.monotonic()
            self.events.emit("node_started", node, replica=info.get("replica"))
        elif kind == "node_failed":
            error = remote_error(info.get("type", "Exception"), info.get("message", ""))
            self.events.emit(
                "node_failed",
                node,
                error=error,
                item=info.get("item"),
                attempts=info.get("attempts", 1),
                action=info.get("action"),
                worker=info.get("worker"),
            )

    async def _results(self, stream: str, entries: list[Any]) -> None:
        node = self.by_stream[stream]
        out = self.collected[node]
        codec = self.ctx.codec
        ids: list[bytes] = []
        taken = 0
        for entry_id, fields in entries:
            ids.append(entry_id)
            count = int(fields[3])
            values = codec.loads_many(fields[5])
            seqs = Seqs.decode(fields[1].decode(), count)
            out.extend(zip(seqs, values, strict=True))
            taken += count
        client = self.ctx.redis.client
        pipe = client.pipeline(transaction=False)
        pipe.xdel(stream, *ids)
        pipe.hincrby(self.ctx.keys.link(node, "o"), "n", -taken)
        await pipe.execute()

    def outputs(self) -> dict[str, list[Any]]:
        """Collected results per node, in sequence order."""
        return {
            node: [value for _, value in sorted(pairs, key=lambda pair: pair[0])]
            for node, pairs in self.collected.items()
        }

    # -- snapshots ---------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        """The run's state now (one round trip, and one more to see which replicas live)."""
        ctx = self.ctx
        keys = ctx.keys
        topo = ctx.topology
        links = topo.links()
        pipe = ctx.redis.client.pipeline(transaction=False)
        pipe.hmget(keys.meta, ["status", "error"])
        pipe.hgetall(keys.fin)
        for node in self.nodes:
            pipe.hgetall(keys.stats(node))
            pipe.hgetall(keys.replicas(node))
        for link in links:
            pipe.hmget(keys.link(link.consumer, link.index), ["n", "pk"])
        replies = await pipe.execute()
        status, error = replies[0]
        finished = {k.decode(): int(v) for k, v in replies[1].items()}
        counters: dict[str, dict[bytes, bytes]] = {}
        replica_beats: dict[str, list[bytes]] = {}
        at = 2
        for node in self.nodes:
            counters[node] = replies[at]
            replica_beats[node] = [b for b in replies[at + 1].values() if not b.startswith(b"-")]
            at += 2
        backlog: dict[str, int] = {}
        peaks: dict[tuple[str, int | str], int] = {}
        for link in links:
            n, pk = replies[at]
            at += 1
            backlog[link.name] = int(n or 0)
            peaks[(link.consumer, link.index)] = int(pk or 0)
        live = await self._live(replica_beats)
        stats = {node: self._stats(node, counters[node], peaks, finished) for node in self.nodes}
        depths = {
            node: sum(backlog[link.name] for link in topo.inputs[node]) for node in topo.inputs
        }
        return Snapshot(
            status=(status or b"gone").decode(),
            error=json.loads(error) if error else None,
            finished=finished,
            stats=stats,
            links=backlog,
            depths=depths,
            replicas=live,
            registered={node: len(beats) for node, beats in replica_beats.items()},
        )

    async def _live(self, beats: dict[str, list[bytes]]) -> dict[str, int]:
        everyone = [beat for node_beats in beats.values() for beat in node_beats]
        if not everyone:
            return dict.fromkeys(beats, 0)
        pipe = self.ctx.redis.client.pipeline(transaction=False)
        for beat in everyone:
            pipe.exists(beat)
        alive = iter(await pipe.execute())
        return {
            node: sum(1 for _ in node_beats if next(alive)) for node, node_beats in beats.items()
        }

    def _stats(
        self,
        node: str,
        counters: dict[bytes, bytes],
        peaks: dict[tuple[str, int | str], int],
        finished: dict[str, int],
    ) -> NodeStats:
        stats = NodeStats()
        for name in _COUNTERS:
            setattr(stats, name, int(counters.get(name.encode(), 0)))
        inputs = self.ctx.topology.inputs[node]
        stats.peak_depth = max((peaks[(link.consumer, link.index)] for link in inputs), default=0)
        started = counters.get(b"started")
        if started is not None:
            stats.started = wall_to_monotonic(int(started))
        if node in finished:
            stats.finished = wall_to_monotonic(finished[node])
        return stats

    def report_finished(self, snapshot: Snapshot) -> None:
        """Emit ``node_finished`` once for each node the snapshot shows finished."""
        for node in self.nodes:
            if node in snapshot.finished and node not in self.reported_finished:
                self.reported_finished.add(node)
                if node not in self.started:
                    self.started[node] = time.monotonic()
                    self.events.emit("node_started", node)
                self.events.emit("node_finished", node, stats=snapshot.stats[node].copy())
