"""Cancellation and stopping: nothing left behind, drains deliver everything produced."""

from __future__ import annotations

import asyncio
import gc
import itertools
import multiprocessing
import threading

import pytest
from engine_funcs import chain_spec

from pipelines import Plumber


@pytest.fixture
async def loop_errors():
    """Record what asyncio reports through the loop's exception handler
    ("Task was destroyed but it is pending", "exception was never retrieved", ...)."""
    loop = asyncio.get_running_loop()
    reported: list = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    yield reported
    loop.set_exception_handler(previous)


def _bounded(awaitable, seconds=20):
    """A safety net turning a hang into a clear failure; never reached when the engine works."""
    return asyncio.wait_for(awaitable, seconds)


class Flow:
    """An endless stream with counters: produced at the source, received at the sink."""

    def __init__(self, wait_for: int = 20) -> None:
        self.produced = 0
        self.received = 0
        self.wait_for = wait_for
        self.enough = asyncio.Event()
        self.source_closed = False

    async def agen(self):
        try:
            for i in itertools.count():
                await asyncio.sleep(0)
                self.produced += 1
                yield i
        finally:
            self.source_closed = True

    def rig(self):
        flow = self

        async def rig(self, output_q):  # upstream style: self is the Processor
            for i in itertools.count():
                await asyncio.sleep(0)
                flow.produced += 1  # handed to the engine: it must arrive
                await output_q.put(i)

        return rig

    def sync_gen(self):
        for i in itertools.count():
            self.produced += 1
            yield i

    async def sink(self, item):
        self.received += 1
        if self.received >= self.wait_for:
            self.enough.set()
        await asyncio.sleep(0)


async def _relay(item):
    await asyncio.sleep(0)
    return item


def _relay_thread(item):
    return item


# -- cancelling the task that awaits run() ----------------------------------------------------


async def test_cancelling_run_leaves_no_task_thread_or_warning(no_pending_tasks, loop_errors):
    flow = Flow()
    spec = chain_spec(
        ("src", {"coro": flow.agen}),
        ("t", {"coro": _relay_thread, "queue_size": 4}),
        ("c", {"coro": _relay, "concurrency": 3, "queue_size": 2}),
        ("sink", {"coro": flow.sink, "queue_size": 2}),
    )
    plumber = Plumber(spec)
    task = asyncio.create_task(plumber.run())
    await _bounded(flow.enough.wait())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert flow.source_closed
    assert not plumber.running
    no_pending_tasks()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("pipelines")]
    gc.collect()  # "Task was destroyed but it is pending" would be reported here
    await asyncio.sleep(0)
    assert loop_errors == []


async def test_cancelling_run_stops_a_call_blocked_in_a_node(no_pending_tasks, loop_errors):
    never = asyncio.Event()
    entered = asyncio.Event()
    outcome: list = []

    async def stuck(item):
        entered.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    spec = chain_spec(("src", {"coro": [1, 2, 3]}), ("stuck", {"coro": stuck}))
    task = asyncio.create_task(Plumber(spec).run())
    await _bounded(entered.wait())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancelled"]
    no_pending_tasks()
    assert loop_errors == []


async def test_cancelling_run_terminates_busy_worker_processes(tmp_path, no_pending_tasks):
    before = set(multiprocessing.active_children())
    spec = chain_spec(
        ("src", {"coro": [1]}),
        (
            "cpu",
            {
                "coro": "engine_funcs.procs:mark_then_sleep",
                "args": {"marker_dir": str(tmp_path)},
                "executor": "process",
            },
        ),
    )
    task = asyncio.create_task(Plumber(spec).run())
    marker = tmp_path / "started-1"
    async with asyncio.timeout(20):
        while not marker.exists():  # the call is running in its worker process
            await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await _bounded(task)
    left = [p for p in multiprocessing.active_children() if p not in before]
    assert left == []
    no_pending_tasks()


# -- stop(drain=True) ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["async_gen", "upstream_rig", "sync_gen", "endless_iterable"])
async def test_stop_with_drain_delivers_everything_produced(kind, no_pending_tasks, loop_errors):
    flow = Flow()
    counter = itertools.count()
    sources = {
        "async_gen": {"coro": flow.agen},
        "upstream_rig": {"coro": flow.rig()},
        "sync_gen": {"coro": flow.sync_gen},
        "endless_iterable": {"coro": counter},
    }
    spec = {
        "nodes": {
            "src": sources[kind],
            "t": {"coro": _relay, "queue_size": 3},
            "th": {"coro": _relay_thread, "queue_size": 2},
            "sink": {"coro": flow.sink, "queue_size": 2, "properties": {"aggregate_inputs": False}},
            "tap": {"coro": _relay, "collect": True, "queue_size": 5},
        },
        "graph": {"src": ["t", "tap"], "t": ["th"], "th": ["sink"], "sink": None, "tap": None},
    }
    plumber = Plumber(spec)
    task = asyncio.create_task(plumber.run())
    await _bounded(flow.enough.wait())
    await _bounded(plumber.stop(drain=True))
    result = await _bounded(task)
    assert result.status == "stopped"
    assert result.stopped
    produced = next(counter) if kind == "endless_iterable" else flow.produced
    assert result.stats["src"].emitted == produced
    assert flow.received == produced
    assert result.stats["sink"].received == produced
    assert result.outputs["tap"] == list(range(produced))
    no_pending_tasks()
    assert loop_errors == []


async def test_stop_with_drain_while_a_sync_generator_is_between_items():
    """The drain is asked for while the generator's thread is computing the next item.

    That item is produced (the generator yields it): it must reach the sink.
    """
    at_gate = threading.Event()
    gate = threading.Event()
    produced = 0
    received: list = []
    enough = asyncio.Event()

    def numbers():
        nonlocal produced
        for i in itertools.count():
            if i == 5:
                at_gate.set()
                gate.wait(20)  # the test lets it go on after asking for the drain
            produced += 1
            yield i

    async def sink(item):
        received.append(item)
        if len(received) == 5:
            enough.set()

    plumber = Plumber(chain_spec(("src", {"coro": numbers}), ("sink", {"coro": sink})))
    task = asyncio.create_task(plumber.run())
    await _bounded(enough.wait())
    async with asyncio.timeout(20):
        while not at_gate.is_set():  # next() for item 5 is running in its thread
            await asyncio.sleep(0.001)
    plumber.request_stop(drain=True)
    gate.set()
    result = await _bounded(task)
    assert result.status == "stopped"
    assert produced == 6
    assert received == list(range(produced))


async def test_stop_with_drain_while_the_source_waits_for_space():
    """A source blocked on a full link keeps the item it holds: it is delivered, then it stops."""
    hold = asyncio.Event()
    first = asyncio.Event()
    received: list = []

    async def sink(item):
        received.append(item)
        first.set()
        await hold.wait()

    flow = Flow()
    spec = chain_spec(("src", {"coro": flow.agen}), ("sink", {"coro": sink, "queue_size": 2}))
    plumber = Plumber(spec)
    task = asyncio.create_task(plumber.run())
    await _bounded(first.wait())
    for _ in range(10):
        await asyncio.sleep(0)  # the source fills the link and blocks (any count is fine)
    plumber.request_stop(drain=True)
    hold.set()
    result = await _bounded(task)
    assert result.status == "stopped"
    assert received == list(range(flow.produced))


async def test_stop_with_drain_waits_for_slow_in_flight_work():
    release = asyncio.Event()
    flow = Flow(wait_for=1)

    async def slow(item):
        if item == 0:
            flow.enough.set()
            await release.wait()
        return item

    spec = chain_spec(
        ("src", {"coro": flow.agen}),
        ("slow", {"coro": slow, "queue_size": 1}),
        ("out", {"coro": _relay, "collect": True}),
    )
    plumber = Plumber(spec)
    task = asyncio.create_task(plumber.run())
    await _bounded(flow.enough.wait())
    stopping = asyncio.create_task(plumber.stop(drain=True))
    await asyncio.sleep(0)
    release.set()
    await _bounded(stopping)
    result = await _bounded(task)
    assert result.status == "stopped"
    assert result.outputs["out"] == list(range(flow.produced))


# -- stop(drain=False) -----------------------------------------------------------------------


async def test_stop_without_drain_ends_at_once(no_pending_tasks, loop_errors):
    never = asyncio.Event()
    entered = asyncio.Event()
    cancelled: list = []
    flow = Flow()

    async def stuck(item):
        entered.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(item)
            raise

    spec = chain_spec(("src", {"coro": flow.agen}), ("stuck", {"coro": stuck, "queue_size": 4}))
    plumber = Plumber(spec)
    task = asyncio.create_task(plumber.run())
    await _bounded(entered.wait())
    await _bounded(plumber.stop(drain=False))
    assert task.done()
    result = task.result()
    assert result.status == "stopped"
    assert cancelled == [0]
    assert flow.source_closed
    assert result.stats["stuck"].received == 1
    no_pending_tasks()
    assert loop_errors == []


async def test_stop_on_a_finished_plumber_returns():
    plumber = Plumber(chain_spec(("src", {"coro": [1]}), ("out", {"coro": _relay})))
    result = await plumber.run()
    await _bounded(plumber.stop())
    assert result.status == "completed"


async def test_stop_of_a_background_pipeline():
    flow = Flow()
    plumber = Plumber(chain_spec(("src", {"coro": flow.agen}), ("sink", {"coro": flow.sink})))
    plumber.create_pipeline()
    await _bounded(flow.enough.wait())
    await _bounded(plumber.stop(drain=True))
    result = await _bounded(plumber.wait())
    assert result.status == "stopped"
    assert flow.received == flow.produced


async def test_stop_right_after_create_pipeline_stops_the_run():
    """stop() is asked for before the background run had a chance to start."""
    flow = Flow()
    plumber = Plumber(chain_spec(("src", {"coro": flow.agen}), ("sink", {"coro": flow.sink})))
    plumber.create_pipeline()
    await _bounded(plumber.stop(drain=True), 3)
    result = await _bounded(plumber.wait(), 3)
    assert result.status == "stopped"
    assert flow.received == flow.produced


@pytest.mark.parametrize("drain", [True, False])
async def test_a_cancelled_source_can_tell_a_drain_from_a_cancellation(drain):
    seen: list[bool] = []
    started = asyncio.Event()

    async def source(*, processor):
        yield 1
        started.set()
        try:
            await asyncio.Event().wait()  # waiting for an item that never comes
        except asyncio.CancelledError:
            seen.append(processor.stop_requested)
            raise

    async def sink(item):
        return item

    plumber = Plumber(chain_spec(("src", {"coro": source}), ("sink", {"coro": sink})))
    task = asyncio.create_task(plumber.run())
    await _bounded(started.wait())
    await _bounded(plumber.stop(drain=drain))
    result = await _bounded(task)
    assert result.status == "stopped"
    assert seen == [drain]
