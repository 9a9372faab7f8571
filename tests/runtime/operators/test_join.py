"""join: (left, right) pairs with matching keys, within a time span, bounded, unmatched counted."""

from __future__ import annotations

import logging

from engine_funcs import run_spec
from engine_funcs.timed import at_times, started

from pipelines.testing import VirtualClock


def first(pair):
    return pair[0]


def _spec(left, right, join, **extra):
    return {
        "nodes": {
            "left": {"coro": left},
            "right": {"coro": right},
            "j": {"join": join, "collect": True, **extra},
        },
        "graph": {"left": ["j"], "right": ["j"], "j": None},
    }


async def test_pairs_items_with_the_same_key_whatever_their_order():
    left = [("a", 1), ("b", 2), ("c", 3), ("a", 4)]
    right = [("c", "z"), ("a", "x"), ("d", "w")]
    result = await run_spec(_spec(left, right, {"key": first}))
    assert sorted(result.outputs["j"]) == [
        (("a", 1), ("a", "x")),
        (("a", 4), ("a", "x")),
        (("c", 3), ("c", "z")),
    ]
    stats = result.stats["j"]
    # b and d never matched: counted at the end of the stream
    assert (stats.received, stats.emitted, stats.dropped) == (7, 3, 2)


async def test_the_function_gets_left_and_right():
    async def describe(pair):
        left, right = pair
        return f"{left[1]}+{right[1]}"

    spec = _spec([("k", "L")], [("k", "R")], {"key": first})
    spec["nodes"]["j"]["coro"] = describe
    assert (await run_spec(spec)).outputs["j"] == ["L+R"]


async def test_within_pairs_only_items_less_than_that_apart_and_drops_the_expired():
    clock = VirtualClock(start=0.0)
    times: list[float] = []

    async def stamp(pair):
        times.append(clock.monotonic())
        return (pair[0][1], pair[1][1])

    left = at_times([(0.0, ("a", "L0")), (1.0, ("b", "L1")), (20.0, ("c", "L2"))])
    right = at_times([(4.0, ("a", "R0")), (6.0, ("b", "R1")), (25.0, ("c", "R2"))])
    spec = _spec(left, right, {"key": first, "within": 5})
    spec["nodes"]["j"]["coro"] = stamp
    plumber, clock, task = started(spec, clock)
    await clock.advance_to(4.99)
    assert plumber["j"].collected == [("L0", "R0")]
    assert plumber["j"].stats.dropped == 0
    await clock.advance_to(5.0)  # L0 matched: leaves without being counted
    assert plumber["j"].stats.dropped == 0
    await clock.advance_to(6.0)  # L1 expired at 6.0 exactly, before R1 (5 s later) came
    assert plumber["j"].collected == [("L0", "R0")]
    await clock.advance_to(10.99)
    assert plumber["j"].stats.dropped == 1  # L1
    await clock.advance_to(11.0)  # R1 expired unmatched
    assert plumber["j"].stats.dropped == 2
    await clock.advance(100)
    result = await task
    assert result.outputs["j"] == [("L0", "R0")]  # L2 and R2: 5 s apart, not paired
    assert times == [4.0]
    assert result.stats["j"].dropped == 4


async def test_max_pending_evicts_the_oldest_and_counts_it(caplog):
    left = [("a", 1), ("b", 2), ("c", 3)]
    right = [("z", 0), ("z", 0), ("z", 0), ("a", "x")]
    with caplog.at_level(logging.WARNING, logger="pipelines"):
        result = await run_spec(_spec(left, right, {"key": first, "max_pending": 2}))
    # ("a", 1) was evicted before ("a", "x") came: no pair
    assert result.outputs["j"] == []
    assert result.stats["j"].dropped == 7
    assert sum("join.max_pending (2) reached" in r.getMessage() for r in caplog.records) == 1


async def test_a_matched_item_keeps_matching_later_ones():
    result = await run_spec(_spec([("k", 1)], [("k", "x"), ("k", "y")], {"key": first}))
    assert result.outputs["j"] == [(("k", 1), ("k", "x")), (("k", 1), ("k", "y"))]
    assert result.stats["j"].dropped == 0


async def test_cancelling_counts_the_unmatched_waiting_items():
    left = at_times([(0.0, ("a", 1)), (1.0, ("b", 2)), (100.0, ("c", 3))])
    right = at_times([(0.5, ("a", "x")), (100.0, ("d", 4))])
    plumber, clock, task = started(_spec(left, right, {"key": first}))
    await clock.advance(2)
    plumber.request_stop(drain=False)
    result = await task
    assert result.outputs["j"] == [(("a", 1), ("a", "x"))]
    assert result.stats["j"].dropped == 1  # ("b", 2)
