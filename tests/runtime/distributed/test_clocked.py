"""Heartbeats, a source's linger, backing off a full link and keeping entries in hand, on a virtual clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pipelines.runtime.distributed.codec import JsonCodec
from pipelines.runtime.distributed.consume import keep_alive
from pipelines.runtime.distributed.heartbeat import Heartbeat
from pipelines.runtime.distributed.keys import RunKeys
from pipelines.runtime.distributed.senders import Sender
from pipelines.runtime.link import Link
from pipelines.spec.transport import TransportSpec
from pipelines.testing import VirtualClock


class FakeClient:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sets: list[tuple[float, str, int]] = []

    async def set(self, key: str, value: str, px: int) -> None:
        self.sets.append((self.clock.monotonic(), key, px))


async def test_a_heartbeat_beats_every_interval_with_three_intervals_to_live():
    clock = VirtualClock()
    client = FakeClient(clock)
    beat = Heartbeat(client, "pipelines:worker:w", lambda: {"name": "w"}, 2.0, clock)  # type: ignore[arg-type]
    task = asyncio.create_task(beat.run())
    await clock.advance(5.0)
    task.cancel()
    assert client.sets == [
        (0.0, "pipelines:worker:w", 6000),
        (2.0, "pipelines:worker:w", 6000),
        (4.0, "pipelines:worker:w", 6000),
    ]


class FakeScripts:
    def __init__(self, clock: VirtualClock, replies: list[bytes]) -> None:
        self.clock = clock
        self.replies = replies
        self.calls: list[tuple[float, list[Any]]] = []

    async def add(self, keys: list[str], args: list[Any]) -> bytes:
        self.calls.append((self.clock.monotonic(), args))
        return self.replies.pop(0) if self.replies else b"O"

    async def wait_space(self, wake: str, timeout: float = 0.05) -> None:
        self.calls.append((self.clock.monotonic(), ["wait", wake]))

    async def keep(self, keys: list[str], args: list[Any]) -> int:
        self.calls.append((self.clock.monotonic(), [*keys, *args]))
        return 1


@dataclass
class FakeContext:
    clock: VirtualClock
    redis: FakeScripts
    transport: TransportSpec = field(
        default_factory=lambda: TransportSpec(batch_size=4, linger=0.005)
    )
    codec: JsonCodec = field(default_factory=JsonCodec)
    keys: RunKeys = field(default_factory=lambda: RunKeys("pipelines", "r1"))

    def consumer(self, node: str) -> str:
        return f"me/{node}"


def _sender(replies: list[bytes]) -> tuple[Sender, Link, FakeScripts, VirtualClock]:
    clock = VirtualClock()
    scripts = FakeScripts(clock, replies)
    ctx = FakeContext(clock, scripts)
    local = Link("src->out (to Redis)", 4)

    class Node:
        name = "src"

    sender = Sender(ctx, Node(), local, "stream", "link", 100, None, "wake")  # type: ignore[arg-type]
    return sender, local, scripts, clock


def _sent(calls: list[tuple[float, list[Any]]]) -> list[tuple[float, int, str, bytes]]:
    """(time, batch number, seqs, blob) of each ADD."""
    return [(round(t, 6), args[2], args[4], args[5]) for t, args in calls]


async def test_a_source_batch_waits_for_its_linger_unless_it_fills():
    sender, local, scripts, clock = _sender([])
    task = asyncio.create_task(sender.run())
    local.buf.extend([1, 2])
    local.wake_getters()
    await clock.advance(0.004)
    assert scripts.calls == []  # lingering: the batch may still fill
    await clock.advance(0.001)
    assert _sent(scripts.calls) == [(0.005, 0, ":0", b"[1,2]")]
    local.buf.extend([3, 4, 5, 6])  # a full batch goes at once
    local.wake_getters()
    await clock.settle()
    assert _sent(scripts.calls)[1:] == [(0.005, 1, ":2", b"[3,4,5,6]")]
    local.buf.append(7)
    local.close_one()  # the end: what is left goes without lingering
    await clock.settle()
    await task
    assert _sent(scripts.calls)[2:] == [(0.005, 2, ":6", b"[7]")]


async def test_a_full_link_waits_for_a_wake_up_then_tries_the_same_batch_again():
    sender, local, scripts, _ = _sender([b"F", b"F"])
    local.buf.extend([1, 2, 3, 4])
    local.close_one()
    await sender.run()
    assert [args[:3] if args[0] == "wait" else ("add", args[2]) for _, args in scripts.calls] == [
        ("add", 0),
        ["wait", "wake"],
        ("add", 0),
        ["wait", "wake"],
        ("add", 0),  # the same batch number: a retried add is never added twice
    ]
    assert sender.sent == 4


async def test_entries_in_hand_are_kept_every_third_of_reclaim_after():
    clock = VirtualClock()
    scripts = FakeScripts(clock, [])
    held: dict[bytes, set[bytes]] = {b"s1": {b"1-0"}, b"s2": set()}
    task = asyncio.create_task(keep_alive(scripts, clock, 10.0, "me/node", held))  # type: ignore[arg-type]
    await clock.advance(25.0)
    held[b"s1"].clear()
    await clock.advance(10.0)
    task.cancel()
    assert scripts.calls == [
        (10.0, ["s1", "g", "me/node", b"1-0"]),
        (20.0, ["s1", "g", "me/node", b"1-0"]),
    ]
