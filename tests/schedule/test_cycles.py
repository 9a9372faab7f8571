"""Cycles: a run repeats its graph N times, until a predicate says so, or until stopped."""

from __future__ import annotations

import asyncio

import pytest

from pipelines import PipelineError, Plumber
from pipelines.schedule.cycles import Cycles, UntilFailed
from pipelines.spec.cycle import CycleSpec
from pipelines.testing import VirtualClock

produced: list[int] = []


async def counter(start=0):
    """Each run yields the next three numbers of a shared count."""
    base = len(produced)
    for i in range(3):
        produced.append(base + i)
        yield base + i


async def keep(x):
    return x


async def fail_on_seven(x):
    if x == 7:
        raise ValueError("seven")
    return x


def spec(cycle=None, sink=keep):
    data = {
        "nodes": {"src": {"coro": counter}, "out": {"coro": sink, "collect": True}},
        "graph": {"src": ["out"], "out": None},
    }
    if cycle is not None:
        data["cycle"] = cycle
    return data


@pytest.fixture(autouse=True)
def fresh_count():
    produced.clear()


def seen(log):
    return [
        (index, result.outputs["out"] if result else type(error).__name__)
        for index, result, error in log
    ]


async def run_cycles(plumber, **options):
    log = []
    cycles = Cycles(plumber, after_cycle=lambda *entry: log.append(entry), **options)
    result = await cycles.run()
    return cycles, result, log


async def test_cycle_times_runs_the_graph_n_times_each_from_a_fresh_start():
    cycles, result, log = await run_cycles(Plumber(spec({"times": 3})))
    assert seen(log) == [(1, [0, 1, 2]), (2, [3, 4, 5]), (3, [6, 7, 8])]
    assert (result.outputs["out"], cycles.completed, cycles.index) == ([6, 7, 8], 3, 3)


async def test_once_is_one_run():
    cycles, _, log = await run_cycles(Plumber(spec()))
    assert cycles.once and seen(log) == [(1, [0, 1, 2])]


async def test_until_is_called_with_each_result_and_ends_the_cycles_when_true():
    calls = []

    def enough(result):
        calls.append(result.outputs["out"][-1])
        return result.outputs["out"][-1] >= 8

    _, _, log = await run_cycles(Plumber(spec({"until": enough})))
    assert seen(log) == [(1, [0, 1, 2]), (2, [3, 4, 5]), (3, [6, 7, 8])]
    assert calls == [2, 5, 8]


async def test_an_async_until_and_times_together_stop_at_whichever_comes_first():
    async def never(result):
        await asyncio.sleep(0)
        return False

    _, _, log = await run_cycles(Plumber(spec({"until": never, "times": 2})))
    assert [index for index, *_ in log] == [1, 2]


async def test_a_failed_cycle_ends_the_cycles_and_raises():
    plumber = Plumber(spec({"times": 5}, sink=fail_on_seven))
    log = []
    with pytest.raises(PipelineError, match="seven"):
        await Cycles(plumber, after_cycle=lambda *entry: log.append(entry)).run()
    assert seen(log) == [(1, [0, 1, 2]), (2, [3, 4, 5]), (3, "PipelineError")]


async def test_an_until_that_raises_ends_the_cycles_saying_so():
    def broken(result):
        raise KeyError("status")

    with pytest.raises(UntilFailed) as info:
        await Cycles(Plumber(spec({"until": broken}))).run()
    assert str(info.value) == "cycle.until broken raised KeyError: 'status'"
    assert isinstance(info.value.__cause__, KeyError)


async def slow_numbers():
    for i in range(1000):
        await asyncio.sleep(0.001)
        yield i


async def test_a_cycle_stopped_from_outside_ends_the_cycles_after_its_drain():
    plumber = Plumber(
        {
            "nodes": {"src": {"coro": slow_numbers}, "out": {"coro": keep, "collect": True}},
            "graph": {"src": ["out"], "out": None},
            "cycle": "forever",
        }
    )
    log = []
    cycles = Cycles(
        plumber, after_cycle=lambda index, result, error: log.append((index, result.status))
    )
    task = asyncio.create_task(cycles.run())
    await asyncio.sleep(0.02)
    plumber.request_stop(drain=True)  # e.g. a watchdog's halt, or `pipelines run`'s Ctrl-C
    result = await asyncio.wait_for(task, 10)
    assert log == [(1, "stopped")] and result.status == "stopped"
    count = len(result.outputs["out"])
    assert 0 < count < 1000 and result.outputs["out"] == list(range(count))  # drained in order


async def test_stop_after_some_completed_cycles_drains_the_current_one():
    plumber = Plumber(spec("forever"))
    log = []

    def after(index, result, error):
        log.append((index, result.status))
        if index == 3:
            cycles.stop()

    cycles = Cycles(plumber, after_cycle=after)
    result = await asyncio.wait_for(cycles.run(), 10)
    assert log == [(1, "completed"), (2, "completed"), (3, "completed")]
    assert result.outputs["out"] == [6, 7, 8]


async def test_pause_between_cycles_runs_on_the_clock_and_a_stop_cuts_it_short():
    clock = VirtualClock()
    starts = []
    plumber = Plumber(spec({"times": 3, "pause": 60}))

    async def before(index):
        starts.append((index, clock.monotonic()))

    cycles = Cycles(plumber, clock=clock, before_cycle=before)
    task = asyncio.create_task(cycles.run())
    await clock.advance(59)
    assert starts == []
    await clock.advance(1)
    assert starts == [(2, 60.0)]
    await clock.advance(30)
    cycles.stop()
    result = await asyncio.wait_for(task, 10)
    assert starts == [(2, 60.0)] and result.outputs["out"] == [3, 4, 5]


def test_a_cycle_spec_describes_itself():
    assert [
        CycleSpec().describe(),
        CycleSpec(times=None).describe(),
        CycleSpec(times=4, pause=2.5).describe(),
    ] == ["once", "forever", "4 times, 2.5 s apart"]
