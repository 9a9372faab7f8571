"""The calls of a replica: take an entry, call the function on its items, hand on atomically.

For each entry :class:`CallLoop` decodes the batch, calls the node's function
on its items (:class:`~.batch.BatchCaller`: the engine's calling conventions,
retries, timeout and ``on_error``), encodes the results and runs ``STEP``:
results to every output (fan-out), dead letters to the dead-letter link, a
``collect`` node's results to the coordinator, the entry acknowledged and
deleted, the node's counters moved, all at once; the same round trip reads
the next entry. While an output is at capacity, ``STEP`` does nothing and
the loop waits and tries again (backpressure): the entry stays in hand.

An entry delivered before (its worker died) is split into one entry per
item, so that an item that crashes workers only takes itself down; an entry
delivered more than ``max_deliveries`` times fails its items with
:class:`~pipelines.errors.DeliveryError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import DeliveryError
from ..policy import Failure
from .batch import BatchCaller, Outcome
from .codec import Codec
from .consume import StreamLoop, StreamRef
from .entries import Entry, parse_read
from .runctx import GROUP, RunGone
from .seqs import Seqs, seq_text

if TYPE_CHECKING:
    from .replica import Replica

__all__ = ["CallLoop", "Output", "decode_batch", "decode_joined", "split_netstrings"]

log = logging.getLogger("pipelines")

Decode = Callable[[Entry], list[Any]]
_NO_STATS = (0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Output:
    """Where a node's results go: a stream, its counters, its capacity (0: none), its head."""

    stream: str
    link: str
    capacity: int
    head: int | None  # the node's place among a shared link's feeders
    kind: str  # "data", "dead" (dead letters) or "collect" (the coordinator's copy)
    wake: str = ""  # the link's wake-up list, waited on while it is full


def decode_batch(codec: Codec) -> Decode:
    """Items of an ordinary entry."""

    def decode(entry: Entry) -> list[Any]:
        items = codec.loads_many(entry.blob)
        if len(items) != entry.count:
            raise ValueError(f"entry {entry.id!r} says {entry.count} items and holds {len(items)}")
        return items

    return decode


def split_netstrings(blob: bytes) -> list[bytes]:
    """``b"3:abc2:de"`` -> ``[b"abc", b"de"]`` (how the join script packs tuples' parts)."""
    parts: list[bytes] = []
    at = 0
    while at < len(blob):
        colon = blob.index(b":", at)
        size = int(blob[at:colon])
        parts.append(blob[colon + 1 : colon + 1 + size])
        at = colon + 1 + size
    return parts


def decode_joined(codec: Codec, width: int) -> Decode:
    """Tuples of a zip's joined entry: ``width`` parts per tuple, each a one-item batch."""

    def decode(entry: Entry) -> list[Any]:
        parts = split_netstrings(entry.blob)
        if len(parts) != width * entry.count:
            raise ValueError(f"joined entry {entry.id!r} has {len(parts)} parts")
        values = [codec.loads_many(part)[0] for part in parts]
        return [tuple(values[i : i + width]) for i in range(0, len(values), width)]

    return decode


class CallLoop(StreamLoop):
    """A replica's calls on one input stream (a zip: on its joined tuples)."""

    def __init__(self, replica: Replica, ref: StreamRef, decode: Decode) -> None:
        super().__init__(replica, [ref])
        self.ref = ref
        self.decode = decode
        self.node = replica.node
        self.caller = BatchCaller(replica.node, self.ctx.run_id)
        # A batch never exceeds the capacity of a link it goes to.
        caps = [out.capacity for out in replica.outputs if out.kind == "data" and out.capacity > 0]
        self.batch_size = min([self.ctx.transport.batch_size, *caps])
        self.split_link = self.ctx.keys.link(replica.name, "split")

    async def handle(self, entry: Entry, read_next: bool) -> list[Entry]:
        """Call, hand on, acknowledge; return the next entry when read along."""
        if entry.end is not None:
            return await self.step(entry, 0, [entry.end], [], _NO_STATS, read_next)
        if entry.deliveries > self.ctx.transport.max_deliveries:
            return await self.poison(entry, read_next)
        if entry.deliveries > 1 and entry.count > 1:
            return await self.split(entry)
        stats = self.node.stats
        failed, retried = stats.failed, stats.retried
        try:
            items = self.decode(entry)
            seqs = Seqs.decode(entry.seqs, entry.count)
        except Exception as exc:
            return await self.unreadable(entry, exc, read_next)
        outcome = await self.caller.call(items, seqs)
        outs, emitted = await self.results(outcome, items)
        counts = (
            len(items),
            emitted,
            stats.failed - failed,
            stats.retried - retried,
            outcome.in_flight,
        )
        return await self.step(entry, entry.count, [], outs, counts, read_next)

    async def results(
        self, outcome: Outcome, items: list[Any]
    ) -> tuple[list[tuple[Output, list[tuple[int, str, bytes]]]], int]:
        """Encoded entries per output, and how many results they carry."""
        outputs = self.replica.outputs
        data = [out for out in outputs if out.kind != "dead"]
        codec = self.ctx.codec
        values = outcome.values
        emitted = len(values)
        chunks: list[tuple[Seqs, bytes]] = []
        if data and values:
            emitted = 0
            failed_items: set[int] = set()
            size = self.batch_size
            for start in range(0, len(values), size):
                blobs, failures = codec.encode(values[start : start + size])
                for index, exc in failures.items():
                    at = start + index
                    source = outcome.sources[at] if outcome.sources is not None else at
                    if source not in failed_items:
                        failed_items.add(source)
                        await self.caller.fail(outcome, items[source], outcome.value_seqs[at], exc)
                for indices, blob in blobs:
                    chunks.append((outcome.value_seqs.select([start + i for i in indices]), blob))
                    emitted += len(indices)
        outs: list[tuple[Output, list[tuple[int, str, bytes]]]] = []
        for out in outputs:
            if out.kind == "dead":
                if outcome.dead:
                    outs.append((out, self._dead_entries(out, outcome)))
            elif chunks:
                outs.append((out, [(len(s), _seq_field(s, out.head), b) for s, b in chunks]))
        return outs, emitted

    def _dead_entries(self, out: Output, outcome: Outcome) -> list[tuple[int, str, bytes]]:
        records = [record for _, record in outcome.dead]
        seqs = Seqs.of([seq for seq, _ in outcome.dead])
        blobs, failures = self.ctx.codec.encode(records)
        if failures:
            raise next(iter(failures.values()))
        return [
            (len(indices), _seq_field(seqs.select(indices), out.head), blob)
            for indices, blob in blobs
        ]

    async def poison(self, entry: Entry, read_next: bool) -> list[Entry]:
        """An entry delivered too often: its items fail with DeliveryError."""
        stats = self.node.stats
        failed = stats.failed
        error = DeliveryError(
            f"delivered {entry.deliveries} times without being acknowledged "
            f"(max_deliveries {self.ctx.transport.max_deliveries}): a worker may crash on it"
        )
        try:
            items = self.decode(entry)
            seqs = Seqs.decode(entry.seqs, entry.count)
        except Exception as exc:
            return await self.unreadable(entry, exc, read_next)
        outcome = Outcome()
        for i, item in enumerate(items):
            await self.caller.fail(outcome, item, seqs[i], Failure(error, entry.deliveries))
        counts = (len(items), 0, stats.failed - failed, 0, 0)
        return await self.step(entry, entry.count, [], self._dead_only(outcome), counts, read_next)

    def _dead_only(self, outcome: Outcome) -> list[tuple[Output, list[tuple[int, str, bytes]]]]:
        if not outcome.dead:
            return []
        return [
            (out, self._dead_entries(out, outcome))
            for out in self.replica.outputs
            if out.kind == "dead"
        ]

    async def unreadable(self, entry: Entry, exc: Exception, read_next: bool) -> list[Entry]:
        """An entry that does not decode (written by something else): one failure, per ``on_error``."""
        outcome = Outcome()
        failed = self.node.stats.failed
        # The entry's id stands for the number of the item it cannot tell.
        seq = tuple(int(part) for part in entry.id.decode().split("-"))
        await self.caller.fail(outcome, f"<unreadable entry {entry.id.decode()}>", seq, exc)
        counts = (entry.count, 0, self.node.stats.failed - failed, 0, 0)
        outs = self._dead_only(outcome)
        return await self.step(entry, entry.count, [], outs, counts, read_next)

    async def split(self, entry: Entry) -> list[Entry]:
        """Re-add a redelivered batch as one entry per item, acknowledging the batch at once."""
        items = self.decode(entry)
        seqs = Seqs.decode(entry.seqs, entry.count)
        log.info(
            "pipelines: node %r: entry %s came back (delivery %d): split into %d entries",
            self.replica.name,
            entry.id.decode(),
            entry.deliveries,
            len(items),
        )
        dumps = self.ctx.codec.dumps_many
        singles = [(1, seq_text(seqs[i]), dumps([item])) for i, item in enumerate(items)]
        # The items stay on the same link: its backlog does not change, so the
        # split's counter is a key of its own (deleted with the run).
        back = Output(self.ref.stream, self.split_link, 0, None, "data")
        return await self.step(entry, 0, [], [(back, singles)], _NO_STATS, False)

    async def step(
        self,
        entry: Entry,
        acked: int,
        ends: list[str],
        outs: list[tuple[Output, list[tuple[int, str, bytes]]]],
        counts: tuple[int, int, int, int, int],
        read_next: bool,
    ) -> list[Entry]:
        """Run ``STEP`` until the outputs have room; return the entry read along, if any."""
        ctx = self.ctx
        if ctx.outbox:
            # Failures of this batch are reported before it is handed on, so the
            # coordinator has them all when the node finishes.
            await ctx.flush_events()
        keys = ctx.keys
        ref = self.ref
        key_list = [
            keys.meta,
            ref.stream,
            ref.link,
            ref.ends,
            keys.stats(self.replica.name),
            ref.wake,
        ]
        args: list[Any] = [GROUP, self.consumer, 1, entry.id, acked, ref.capacity, len(ends)]
        args += (*ends, len(outs))
        for out, entries in outs:
            key_list += (out.stream, out.link)
            args += (out.capacity, len(entries))
            for count, seqs, blob in entries:
                args += (count, seqs, blob)
        args += (*counts, 1 if read_next else 0)
        while True:
            reply = await ctx.redis.step(keys=key_list, args=args)
            status = reply[0]
            if status == b"O":
                return parse_read(reply[1]) if len(reply) > 1 else []
            if status == b"F":  # backpressure: wait until that output's consumer frees space
                await ctx.redis.wait_space(outs[int(reply[1]) - 1][0].wake)
                continue
            if status == b"L":
                return []  # taken over by another replica, which hands it on
            raise RunGone(ctx.run_id)


def _seq_field(seqs: Seqs, head: int | None) -> str:
    return (seqs if head is None else seqs.prefixed(head)).encode()
