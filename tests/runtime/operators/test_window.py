"""window: count, time and session windows, per key, in processing or event time, exact boundaries."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os

from engine_funcs import run_spec
from engine_funcs.timed import at_times, keep, run_virtual, started

from pipelines import Window
from pipelines.testing import VirtualClock


def _spec(source, window, fn=keep, **extra):
    return {
        "nodes": {
            "src": {"coro": source},
            "w": {"coro": fn, "window": window, "collect": True, **extra},
        },
        "graph": {"src": ["w"], "w": None},
    }


def parity(x):
    return x % 2


def stamp(event):
    return event["t"]


def _bounds(windows):
    return [(w.key, w.start, w.end, w.items) for w in windows]


# -- count ---------------------------------------------------------------------------


async def test_count_windows_tumble_per_key_and_flush_partial_ones_at_the_end():
    result = await run_spec(_spec(list(range(10)), {"count": 3}, key=parity))
    assert _bounds(result.outputs["w"]) == [
        (0, 0, 3, [0, 2, 4]),
        (1, 0, 3, [1, 3, 5]),
        (0, 3, 5, [6, 8]),  # flushed at the end: positions 3 and 4 of key 0
        (1, 3, 5, [7, 9]),
    ]
    assert (result.stats["w"].received, result.stats["w"].emitted) == (10, 4)


async def test_sliding_count_windows_overlap_by_count_minus_slide():
    result = await run_spec(_spec(list("abcde"), {"count": 3, "slide": 1}))
    assert _bounds(result.outputs["w"]) == [
        (None, 0, 3, ["a", "b", "c"]),
        (None, 1, 4, ["b", "c", "d"]),
        (None, 2, 5, ["c", "d", "e"]),
        (None, 3, 5, ["d", "e"]),
        (None, 4, 5, ["e"]),
    ]


async def test_a_count_window_over_a_zip_gets_its_tuples():
    spec = {
        "nodes": {
            "a": {"coro": [1, 2, 3]},
            "b": {"coro": ["x", "y", "z"]},
            "w": {"coro": keep, "window": {"count": 2}, "collect": True},
        },
        "graph": {"a": ["w"], "b": ["w"], "w": None},
    }
    result = await run_spec(spec)
    assert [w.items for w in result.outputs["w"]] == [[(1, "x"), (2, "y")], [(3, "z")]]


# -- processing time -------------------------------------------------------------------


async def test_time_windows_close_exactly_when_the_clock_reaches_their_end():
    schedule = [(0.5, "a"), (9.75, "b"), (10.0, "c"), (19.5, "d"), (31.0, "e")]
    plumber, clock, task = started(_spec(at_times(schedule), {"seconds": 10}))
    out = plumber["w"]
    await clock.advance_to(9.99)
    assert out.collected == []
    await clock.advance_to(10.0)
    assert _bounds(out.collected) == [(None, 0.0, 10.0, ["a", "b"])]
    await clock.advance_to(19.99)
    assert len(out.collected) == 1
    await clock.advance_to(20.0)
    assert _bounds(out.collected)[1] == (None, 10.0, 20.0, ["c", "d"])
    await clock.advance(100)
    result = await task
    # no empty window [20, 30); [30, 40) flushed at the end of the stream (t = 31)
    assert _bounds(result.outputs["w"])[2:] == [(None, 30.0, 40.0, ["e"])]


async def test_time_windows_are_aligned_to_the_wall_clock():
    clock = VirtualClock(start=1_700_000_003.0)  # wall time 3 s past a multiple of 10
    plumber, clock, task = started(
        _spec(at_times([(1.0, "a"), (8.0, "b")]), {"seconds": 10}), clock
    )
    await clock.advance(7)  # wall 1_700_000_010: the first window closes
    assert _bounds(plumber["w"].collected) == [(None, 1_700_000_000.0, 1_700_000_010.0, ["a"])]
    await clock.advance(10)
    result = await task
    assert _bounds(result.outputs["w"])[1] == (None, 1_700_000_010.0, 1_700_000_020.0, ["b"])


async def test_sliding_time_windows_hold_an_item_in_each_window_that_covers_it():
    calls: list[tuple[float, tuple]] = []
    clock = VirtualClock(start=0.0)

    async def record(w):
        calls.append((clock.monotonic(), (w.start, w.end, w.items)))

    schedule = [(1.0, "a"), (6.0, "b"), (12.0, "c"), (40.0, "end")]
    _plumber, clock, task = started(
        _spec(at_times(schedule), {"seconds": 10, "slide": 5}, fn=record), clock
    )
    await clock.advance(39)
    assert calls == [
        (5.0, (-5.0, 5.0, ["a"])),
        (10.0, (0.0, 10.0, ["a", "b"])),
        (15.0, (5.0, 15.0, ["b", "c"])),
        (20.0, (10.0, 20.0, ["c"])),
    ]
    await clock.advance(10)
    await task
    assert calls[4:] == [(40.0, (35.0, 45.0, ["end"])), (40.0, (40.0, 50.0, ["end"]))]


async def test_session_windows_close_gap_seconds_after_their_last_item():
    schedule = [(0.0, 1), (3.0, 2), (7.0, 3), (20.0, 4), (22.0, 5), (40.0, 6)]
    plumber, clock, task = started(_spec(at_times(schedule), {"gap": 5}))
    await clock.advance_to(11.99)
    assert plumber["w"].collected == []
    await clock.advance_to(12.0)
    assert _bounds(plumber["w"].collected) == [(None, 0.0, 12.0, [1, 2, 3])]
    await clock.advance_to(26.99)
    assert len(plumber["w"].collected) == 1
    await clock.advance_to(27.0)
    assert _bounds(plumber["w"].collected)[1] == (None, 20.0, 27.0, [4, 5])
    await clock.advance(100)
    result = await task
    assert _bounds(result.outputs["w"])[2:] == [(None, 40.0, 45.0, [6])]


async def test_sessions_are_per_key():
    schedule = [(0.0, 0), (1.0, 1), (4.0, 2), (8.0, 3), (9.0, 4)]
    result = await run_virtual(_spec(at_times(schedule), {"gap": 5}, key=parity))
    # key 0: 0 and 2 (4 s apart), then 4 at t = 9, exactly gap after 2: a new session
    assert _bounds(result.outputs["w"]) == [
        (1, 1.0, 6.0, [1]),
        (0, 0.0, 9.0, [0, 2]),
        (1, 8.0, 13.0, [3]),
        (0, 9.0, 14.0, [4]),
    ]


async def test_drain_flushes_open_time_windows():
    async def endless(processor):
        i = 0
        while True:
            await processor.clock.sleep(1)
            yield i
            i += 1

    plumber, clock, task = started(_spec(endless, {"seconds": 100}))
    await clock.advance(3.5)
    assert plumber["w"].collected == []
    await plumber.stop(drain=True)
    result = await task
    assert result.status == "stopped"
    assert _bounds(result.outputs["w"]) == [(None, 0.0, 100.0, [0, 1, 2])]


async def test_cancelling_counts_the_items_of_open_windows_as_dropped():
    schedule = [(1.0, 0), (2.0, 1), (3.0, 2), (4.0, 3), (9.0, 4), (50.0, 5)]
    plumber, clock, task = started(
        _spec(at_times(schedule), {"seconds": 10, "slide": 5}, key=parity)
    )
    await clock.advance(5.5)  # [-5, 5) closed with 0..3; [0, 10) holds them again: not lost
    assert [w.items for w in plumber["w"].collected] == [[0, 2], [1, 3]]
    plumber.request_stop(drain=False)
    result = await task
    assert result.stats["w"].dropped == 0
    plumber, clock, task = started(
        _spec(at_times(schedule), {"seconds": 10, "slide": 5}, key=parity)
    )
    await clock.advance(9.5)  # item 4 is only in open windows
    plumber.request_stop(drain=False)
    result = await task
    assert (result.stats["w"].received, result.stats["w"].dropped) == (5, 1)


# -- event time ------------------------------------------------------------------------


async def test_event_time_windows_close_by_watermark_and_drop_late_items(caplog):
    events = [{"t": t, "id": i} for i, t in enumerate([1, 12, 3, 16, 4, 25, 2])]
    window = {"seconds": 10, "time": stamp, "lateness": 5}
    with caplog.at_level(logging.WARNING, logger="pipelines"):
        result = await run_spec(_spec(events, window))
    windows = [(w.start, w.end, [e["id"] for e in w.items]) for w in result.outputs["w"]]
    # [0, 10) closes when 16 arrives (watermark 11); ids 4 (t=4) and 6 (t=2) are late
    assert windows == [(0.0, 10.0, [0, 2]), (10.0, 20.0, [1, 3]), (20.0, 30.0, [5])]
    stats = result.stats["w"]
    assert (stats.received, stats.dropped) == (7, 2)
    late = [r for r in caplog.records if "late item" in r.getMessage()]
    assert len(late) == 1  # logged once; the count is in the stats


async def test_event_time_accepts_datetimes():
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    events = [base + datetime.timedelta(seconds=s) for s in (0, 30, 61)]
    result = await run_spec(_spec(events, {"seconds": 60, "time": lambda d: d}))
    start = base.timestamp()
    assert [(w.start - start, w.end - start, len(w.items)) for w in result.outputs["w"]] == [
        (0.0, 60.0, 2),
        (60.0, 120.0, 1),
    ]


async def test_event_time_sessions_join_when_an_item_bridges_them():
    events = [{"t": t} for t in (0, 20, 10, 4, 14, 17)]
    window = {"gap": 5, "time": stamp, "lateness": 100}
    result = await run_spec(_spec(events, window))
    sessions = [(w.start, w.end, [e["t"] for e in w.items]) for w in result.outputs["w"]]
    # 4 extends [0, 5); 14 joins 10; 17 bridges [10, 19) and [20, 25): items in arrival order
    assert sessions == [(0.0, 9.0, [0, 4]), (10.0, 25.0, [20, 10, 14, 17])]


# -- reduce, bounds, calling -------------------------------------------------------------


def add(acc, x):
    return acc + x


async def test_window_with_reduce_keeps_one_value_per_window():
    spec = _spec(list(range(10)), {"count": 3}, key=parity)
    spec["nodes"]["w"]["reduce"] = {"fn": add, "initial": 100}
    result = await run_spec(spec)
    assert [(w.key, w.start, w.end, w.items, w.value) for w in result.outputs["w"]] == [
        (0, 0, 3, [], 106),
        (1, 0, 3, [], 109),
        (0, 3, 5, [], 114),
        (1, 3, 5, [], 116),
    ]


async def test_windowed_reduce_without_coro_emits_key_value_pairs():
    spec = _spec(list(range(10)), {"count": 3}, key=parity)
    del spec["nodes"]["w"]["coro"]
    spec["nodes"]["w"]["reduce"] = {"fn": add}
    result = await run_spec(spec)
    assert result.outputs["w"] == [(0, 6), (1, 9), (0, 14), (1, 16)]


async def test_session_reduce_folds_at_the_close():
    spec = _spec(
        [{"t": t, "n": n} for t, n in ((0, 1), (2, 10), (30, 100))], {"gap": 5, "time": stamp}
    )
    spec["nodes"]["w"]["reduce"] = {"fn": lambda acc, e: acc + e["n"], "initial": 0}
    result = await run_spec(spec)
    assert [(w.start, w.end, w.value) for w in result.outputs["w"]] == [
        (0.0, 7.0, 11),
        (30.0, 35.0, 100),
    ]


async def test_max_pending_bounds_what_windows_hold_and_counts_the_rest(caplog):
    with caplog.at_level(logging.WARNING, logger="pipelines"):
        result = await run_spec(_spec(list(range(6)), {"count": 10, "max_pending": 4}))
    assert _bounds(result.outputs["w"]) == [(None, 0, 4, [0, 1, 2, 3])]
    assert result.stats["w"].dropped == 2
    assert sum("max_pending (4) reached" in r.getMessage() for r in caplog.records) == 1


async def test_keyed_windows_with_concurrency_give_the_same_windows():
    async def label(w):
        await asyncio.sleep(0)
        return (w.key, w.start, tuple(w.items))

    serial = await run_spec(_spec(list(range(40)), {"count": 4}, fn=label, key=lambda x: x % 5))
    parallel = await run_spec(
        _spec(list(range(40)), {"count": 4}, fn=label, key=lambda x: x % 5, concurrency=3)
    )
    assert parallel.outputs["w"] == serial.outputs["w"]  # ordered: true keeps the order
    unordered = await run_spec(
        _spec(
            list(range(40)),
            {"count": 4},
            fn=label,
            key=lambda x: x % 5,
            concurrency=3,
            ordered=False,
        )
    )
    assert sorted(unordered.outputs["w"]) == sorted(serial.outputs["w"])


async def test_upstream_style_functions_get_the_window_as_their_one_input():
    class Funcs:
        @classmethod
        async def size(cls, self, q_elt):
            (window,) = q_elt
            assert isinstance(window, Window)
            return len(window.items)

    result = await run_spec(_spec(list(range(5)), {"count": 2}, fn=Funcs.size))
    assert result.outputs["w"] == [2, 2, 1]


async def test_a_window_node_can_run_its_function_in_a_process():
    from engine_funcs.procs import window_size

    result = await run_spec(
        _spec(list(range(7)), {"count": 3}, fn=window_size, key=parity, executor="process")
    )
    out = result.outputs["w"]
    assert [(key, size) for key, size, _ in out] == [(0, 3), (1, 3), (0, 1)]
    assert {pid for *_, pid in out} != {os.getpid()}


async def test_a_generator_function_yields_several_results_per_window():
    def halves(w):  # a sync generator: runs in a thread, its results gathered
        yield w.items[: len(w.items) // 2]
        yield w.items[len(w.items) // 2 :]

    result = await run_spec(_spec(list(range(4)), {"count": 4}, fn=halves))
    assert result.outputs["w"] == [[0, 1], [2, 3]]
