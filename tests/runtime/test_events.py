"""Run events for observers: subscribe, kinds and order, failures, periodic stats, unsubscribe."""

from __future__ import annotations

import asyncio
import logging

import pytest
from engine_funcs import chain_spec

from pipelines import Event, NodeStats, PipelineError, Plumber, RunResult, SubscriberWarning


async def _inc(item):
    return item + 1


def _spec():
    return chain_spec(
        ("src", {"coro": [1, 2, 3]}),
        ("inc", {"coro": _inc}),
        ("out", {"coro": _inc, "collect": True}),
    )


async def test_subscriber_sees_run_and_node_lifecycle_in_order():
    plumber = Plumber(_spec())
    events: list[Event] = []
    plumber.subscribe(events.append)
    result = await plumber.run()

    kinds = [e.kind for e in events if e.kind != "stats"]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert kinds.count("run_started") == kinds.count("run_finished") == 1
    started = [e.node for e in events if e.kind == "node_started"]
    finished = [e.node for e in events if e.kind == "node_finished"]
    assert sorted(started) == sorted(finished) == ["inc", "out", "src"]
    for name in ("src", "inc", "out"):
        first = next(i for i, e in enumerate(events) if e.kind == "node_started" and e.node == name)
        last = next(i for i, e in enumerate(events) if e.kind == "node_finished" and e.node == name)
        assert first < last
    # A node finishes after the node feeding it.
    order = [e.node for e in events if e.kind == "node_finished"]
    assert order.index("src") < order.index("inc") < order.index("out")
    assert events[-1].data["result"] is result
    assert isinstance(events[-1].data["result"], RunResult)
    assert all(
        e.kind
        in {"run_started", "node_started", "stats", "node_failed", "node_finished", "run_finished"}
        for e in events
    )
    times = [e.time for e in events]
    assert times == sorted(times)


async def test_node_finished_carries_the_node_stats():
    plumber = Plumber(_spec())
    finished: dict = {}
    plumber.subscribe(
        lambda e: (
            finished.__setitem__(e.node, e.data.get("stats")) if e.kind == "node_finished" else None
        )
    )
    await plumber.run()
    assert isinstance(finished["inc"], NodeStats)
    assert (finished["inc"].received, finished["inc"].emitted) == (3, 3)
    assert finished["src"].emitted == 3


async def test_node_failed_events_on_skipped_failures():
    async def picky(item):
        if item == 2:
            raise ValueError("two")
        return item

    spec = chain_spec(
        ("src", {"coro": [1, 2, 3]}), ("p", {"coro": picky, "on_error": "skip", "retries": 1})
    )
    plumber = Plumber(spec)
    events: list[Event] = []
    plumber.subscribe(events.append)
    result = await plumber.run()
    failed = [e for e in events if e.kind == "node_failed"]
    assert len(failed) == 1
    (event,) = failed
    assert event.node == "p"
    assert isinstance(event.data["error"], ValueError)
    assert event.data["item"] == "2"
    assert event.data["attempts"] == 2
    assert event.data["action"] == "skip"
    assert result.stats["p"].failed == 1


async def test_a_failed_run_sends_node_failed_and_run_finished_with_the_error():
    async def boom(item):
        raise KeyError("k")

    plumber = Plumber(chain_spec(("src", {"coro": [1]}), ("boom", {"coro": boom})))
    events: list[Event] = []
    plumber.subscribe(events.append)
    with pytest.raises(PipelineError) as info:
        await plumber.run()
    kinds = [e.kind for e in events if e.kind != "stats"]
    assert "node_failed" in kinds
    assert kinds[-1] == "run_finished"
    failed = next(e for e in events if e.kind == "node_failed")
    assert (failed.node, failed.data["action"]) == ("boom", "raise")
    assert events[-1].data["error"] is info.value


async def test_periodic_stats_events_when_the_interval_is_small():
    seen_stats = asyncio.Event()
    stats_events: list[Event] = []

    def on_event(event: Event) -> None:
        if event.kind == "stats":
            stats_events.append(event)
            if len(stats_events) >= 3:
                seen_stats.set()

    async def source():
        for i in range(3):
            yield i
        await seen_stats.wait()  # the run lasts until three stats events went out
        yield 3

    spec = chain_spec(("src", {"coro": source}), ("out", {"coro": _inc, "collect": True}))
    plumber = Plumber(spec, stats_interval=0.005)
    plumber.subscribe(on_event)
    async with asyncio.timeout(20):
        result = await plumber.run()
    assert result.outputs["out"] == [1, 2, 3, 4]
    assert len(stats_events) >= 3
    for event in stats_events:
        assert set(event.data["stats"]) == {"src", "out"}
        assert all(isinstance(s, NodeStats) for s in event.data["stats"].values())
        assert set(event.data["depths"]) == {"src", "out"}
    # Snapshots: later events never show fewer items than earlier ones.
    emitted = [e.data["stats"]["src"].emitted for e in stats_events]
    assert emitted == sorted(emitted)
    assert emitted[-1] <= 4


async def test_unsubscribing_stops_delivery():
    plumber = Plumber(_spec())
    events: list[Event] = []
    unsubscribe = None

    def on_event(event: Event) -> None:
        events.append(event)
        if event.kind == "node_started":
            unsubscribe()

    unsubscribe = plumber.subscribe(on_event)
    other: list[Event] = []
    plumber.subscribe(other.append)
    await plumber.run()
    assert [e.kind for e in events] == ["run_started", "node_started"]
    assert other[-1].kind == "run_finished"  # the other subscriber kept receiving
    unsubscribe()  # a second call is harmless


async def test_unsubscribed_before_the_run_receives_nothing():
    plumber = Plumber(_spec())
    events: list[Event] = []
    unsubscribe = plumber.subscribe(events.append)
    unsubscribe()
    result = await plumber.run()
    assert events == []
    assert result.outputs["out"] == [3, 4, 5]


async def test_a_failing_subscriber_does_not_break_the_run(caplog):
    plumber = Plumber(_spec())

    def broken(event: Event) -> None:
        raise RuntimeError("observer bug")

    plumber.subscribe(broken)
    with (
        caplog.at_level(logging.ERROR, logger="pipelines"),
        pytest.warns(SubscriberWarning, match="raised RuntimeError: observer bug") as warned,
    ):
        result = await plumber.run()
    assert len(warned) == 1  # once per subscriber, however many events failed
    assert result.status == "completed"
    assert result.outputs["out"] == [3, 4, 5]
    assert any("observer bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)


async def test_live_stats_never_show_a_node_receiving_more_than_its_source_emitted():
    """Hot loops publish counters in batches; here each loop waits once per item
    (the source sleeps between items), so every item is published by its
    producer before its consumer can publish taking it."""
    snapshots = []
    enough = asyncio.Event()

    async def endless():
        i = 0
        while True:
            yield i
            i += 1
            await asyncio.sleep(0)

    async def keep(x):
        return x

    spec = {
        "nodes": {"src": {"coro": endless}, "a": {"coro": keep}, "b": {"coro": keep}},
        "graph": {"src": ["a"], "a": ["b"], "b": None},
    }
    plumber = Plumber(spec, stats_interval=0.005)

    def on_event(event):
        if event.kind == "stats":
            snapshots.append(event.data["stats"])
            if len(snapshots) >= 5 and event.data["stats"]["b"].received > 0:
                enough.set()

    plumber.subscribe(on_event)
    task = asyncio.create_task(plumber.run())
    async with asyncio.timeout(20):
        await enough.wait()
        await plumber.stop(drain=True)
        await task
    assert snapshots
    for snap in snapshots:
        assert snap["src"].emitted >= snap["a"].received >= snap["b"].received
    assert snapshots[-1]["b"].received > 0
    assert snapshots[-1]["src"].emitted > 0
