"""Recording runs: what a run's record holds once it ran, failed or was stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from pipelines import PipelineError, Plumber
from pipelines.store import Recorder, Store
from pipelines.store.encoding import spec_hash


async def numbers(n=5):
    for i in range(1, n + 1):
        yield i


async def double(x):
    return 2 * x


async def fail_on_three(x):
    if x == 3:
        raise ValueError(f"{x} is bad")
    return x


async def keep(x):
    return x


def chain(middle=double, **options):
    return {
        "name": "chain",
        "version": "1.2",
        "nodes": {
            "numbers": {"coro": numbers, "args": {"n": 5}},
            "middle": {"coro": middle, **options},
            "out": {"coro": keep, "collect": True},
        },
        "graph": {"numbers": ["middle"], "middle": ["out"], "out": None},
    }


async def recorded(store, recorder, plumber, **options):
    recording = recorder.record(plumber, **options)
    with contextlib.suppress(PipelineError):
        await plumber.run()
    await asyncio.wrap_future(recording.ended)
    return store.run(recording.id)


async def test_a_completed_run_has_its_status_times_worker_and_exact_figures(
    store, clock, recorders
):
    recorder = recorders(worker_name="etl-1", version="1.2")
    started = clock.time()
    run = await recorded(store, recorder, Plumber(chain()))
    assert (run.pipeline, run.status, run.trigger, run.version) == (
        "chain",
        "completed",
        "python",
        "1.2",
    )
    assert (run.started_at, run.ended_at) == (started, started)  # the virtual clock stood still
    assert run.duration > 0  # measured by the run itself
    assert run.worker == "etl-1"
    assert (run.items_in, run.items_out) == (5, 5)
    assert run.error is None
    figures = {
        name: (n.kind, n.state, n.received, n.emitted, n.failed, n.depth)
        for name, n in run.nodes.items()
    }
    assert figures == {
        "numbers": ("source", "done", 0, 5, 0, 0),
        "middle": ("transform", "done", 5, 5, 0, 0),
        "out": ("sink", "done", 5, 5, 0, 0),
    }
    assert list(run.nodes) == ["numbers", "middle", "out"]  # spec order
    edges = [(e.source, e.target, e.kind, e.capacity, e.depth) for e in run.edges]
    assert edges == [
        ("numbers", "middle", "data", 1024, 0),
        ("middle", "out", "data", 1024, 0),
    ]
    assert 1 <= run.edges[0].peak_depth <= 5


async def test_a_failed_run_keeps_the_node_the_item_and_the_message(store, recorders):
    run = await recorded(store, recorders(), Plumber(chain(fail_on_three)))
    assert run.status == "failed"
    assert run.error.as_json() == {
        "node": "middle",
        "item": "3",
        "type": "ValueError",
        "message": "3 is bad",
    }
    assert run.nodes["middle"].state == "failed"
    assert run.nodes["middle"].last_error == "ValueError: 3 is bad"
    assert (run.nodes["middle"].received, run.nodes["middle"].failed) == (3, 1)


async def test_skipped_failures_show_as_the_node_s_last_error(store, recorders):
    run = await recorded(store, recorders(), Plumber(chain(fail_on_three, on_error="skip")))
    assert run.status == "completed"
    middle = run.nodes["middle"]
    assert (middle.received, middle.emitted, middle.failed) == (5, 4, 1)
    assert middle.last_error == "ValueError: 3 is bad"
    assert run.items_out == 4


async def test_a_stopped_run_is_recorded_as_stopped(store, recorders):
    async def endless():
        i = 0
        while True:
            yield i
            i += 1
            await asyncio.sleep(0)

    spec = chain()
    spec["nodes"]["numbers"] = {"coro": endless}
    plumber = Plumber(spec)
    recording = recorders().record(plumber)
    task = asyncio.create_task(plumber.run())
    while plumber["out"].stats.received < 10:
        await asyncio.sleep(0.001)
    await plumber.stop(drain=True)
    result = await task
    await asyncio.wrap_future(recording.ended)
    run = store.run(recording.id)
    assert run.status == "stopped" == result.status
    assert run.items_in == result.stats["numbers"].emitted == run.items_out


async def test_a_cancelled_run_is_recorded_as_stopped(store, recorders):
    started = asyncio.Event()

    async def forever(x):
        started.set()
        await asyncio.Event().wait()

    plumber = Plumber(chain(forever))
    recording = recorders().record(plumber)
    task = asyncio.create_task(plumber.run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wrap_future(recording.ended)
    run = store.run(recording.id)
    assert run.status == "stopped"
    assert run.nodes["middle"].state == "stopped"
    assert run.error is None


async def test_the_spec_as_loaded_its_hash_and_the_parameters_are_kept(store, recorders):
    data = {"name": "from-file", "nodes": {"a": {"coro": "m:f"}}, "graph": {"a": None}}
    run = await recorded(
        store,
        recorders(),
        Plumber(chain()),
        spec=data,
        parameters={"numbers.n": 5},
        spec_path="/specs/chain.yaml",
        trigger="cli",
    )
    assert run.spec == data
    assert run.spec_hash == spec_hash(data)
    assert (run.parameters, run.spec_path, run.trigger) == (
        {"numbers.n": 5},
        "/specs/chain.yaml",
        "cli",
    )


async def test_a_spec_from_python_is_kept_as_plain_data(store, recorders):
    run = await recorded(store, recorders(), Plumber(chain()))
    assert run.spec["nodes"]["numbers"] == {"coro": "numbers", "args": {"n": 5}}
    assert run.spec["graph"] == {"numbers": ["middle"], "middle": ["out"], "out": None}
    json.dumps(run.spec)  # plain JSON data


async def test_the_pipeline_name_defaults_to_the_spec_name_then_the_file_stem(
    store, recorders, tmp_path
):
    recorder = recorders()
    spec = chain()
    del spec["name"]
    assert (await recorded(store, recorder, Plumber(spec))).pipeline == "pipeline"
    named = await recorded(store, recorder, Plumber(spec, source=str(tmp_path / "etl.yaml")))
    assert named.pipeline == "etl"
    assert (await recorded(store, recorder, Plumber(spec), pipeline="mine")).pipeline == "mine"


async def test_the_record_exists_before_the_run_starts(store, recorders):
    recorder = recorders()
    recording = recorder.record(Plumber(chain()))
    assert await asyncio.wrap_future(recording.written) is True
    run = store.run(recording.id)
    assert run.status == "running"
    assert {n.state for n in run.nodes.values()} == {"waiting"}
    recording.finish()  # never ran
    await asyncio.wrap_future(recording.ended)
    assert store.run(recording.id).status == "stopped"


async def test_a_recorder_asks_its_plumber_for_a_snapshot_at_least_once_a_second(recorders):
    plumber = Plumber(chain(), stats_interval=5.0)
    recorders().record(plumber).finish()
    assert plumber.stats_interval == 1.0


def test_recording_from_python_is_opt_in(tmp_path):
    # The library writes nothing by itself: a run without a Recorder leaves no store.
    asyncio.run(Plumber(chain()).run())
    assert not any(tmp_path.iterdir())


def test_a_background_recorder_writes_from_its_own_thread_and_stops_it(tmp_path):
    import threading

    store = Store(tmp_path / "runs.db")
    plumber = Plumber(chain())
    with Recorder(store, keep=0) as recorder:
        names = [t.name for t in threading.enumerate()]
        assert "pipelines-store" in names
        recording = recorder.record(plumber)
        asyncio.run(plumber.run())
    assert "pipelines-store" not in [t.name for t in threading.enumerate()]
    run = store.run(recording.id)
    assert (run.status, run.items_out) == ("completed", 5)
    assert store.worker(recorder.worker.id).status == "offline"  # closed: went offline at once
    store.close()


async def test_the_plumber_runs_under_the_recorded_id(store, recorders):
    plumber = Plumber(chain())
    seen = []
    plumber.subscribe(
        lambda e: seen.append(e.data.get("run_id")) if e.kind == "run_started" else None
    )
    run = await recorded(store, recorders(), plumber)
    assert seen == [run.id] and plumber.run_id == run.id
