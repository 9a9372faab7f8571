"""Workers: registration, heartbeats and crash detection, on a virtual clock."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from pipelines import Plumber
from pipelines.store import Recorder
from pipelines.store.status import heartbeat_period, is_offline


async def numbers():
    for i in range(3):
        yield i


async def keep(x):
    return x


def small():
    return {
        "nodes": {"numbers": {"coro": numbers}, "out": {"coro": keep}},
        "graph": {"numbers": ["out"], "out": None},
    }


async def flushed(recorder):
    """Let the foreground writer write what is pending."""
    for _ in range(20):
        await asyncio.sleep(0)
    assert recorder.writer.pending == 0


async def test_a_worker_registers_with_its_name_version_host_and_pid(store, recorders, clock):
    recorder = recorders(worker_name="etl-1", version="2.0", kind="run")
    (worker,) = store.workers()
    assert worker.as_json() == {
        "name": "etl-1",
        "version": "2.0",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "status": "online",
        "last_heartbeat": worker.as_json()["last_heartbeat"],
        "kind": "run",
        "started_at": worker.as_json()["started_at"],
        "heartbeat_period": 5.0,
        "offline_at": None,
        "id": recorder.worker.id,
    }
    assert worker.last_heartbeat == worker.started_at == clock.time()


async def test_the_default_worker_name_is_host_and_pid(store, recorders):
    recorders()
    assert store.workers()[0].name == f"{socket.gethostname()}:{os.getpid()}"


async def test_heartbeats_come_every_period_of_the_clock(store, recorders, clock):
    start = clock.time()
    recorder = recorders(heartbeat=5.0)
    seen = []
    for _ in range(4):
        await clock.advance(2.5)
        seen.append(store.worker(recorder.worker.id).last_heartbeat - start)
    assert seen == [0.0, 5.0, 5.0, 10.0]
    assert recorder.beats == 2


async def test_a_silent_worker_goes_offline_after_three_missed_heartbeats_and_its_run_crashes(
    store, recorders, clock
):
    start = clock.time()
    dead = recorders(run=False, heartbeat=5.0)  # registered, then never heard of again: killed
    recording = dead.record(Plumber(small()))
    dead.writer.flush()
    watcher = recorders(heartbeat=1.0)  # another live worker: its heartbeat detects crashes
    await clock.advance(15)  # the third missed beat is due at +15: not missed yet
    assert store.worker(dead.worker.id).status == "online"
    assert store.run(recording.id).status == "running"
    await clock.advance(1)  # the watcher's next beat, at +16
    worker = store.worker(dead.worker.id)
    assert (worker.status, worker.offline_at) == ("offline", start + 16)
    run = store.run(recording.id)
    assert (run.status, run.noticed_at, run.ended_at) == ("crashed", start + 16, start)
    assert store.worker(watcher.worker.id).status == "online"


async def test_reading_notices_a_crash_without_any_other_worker(store, recorders, clock):
    start = clock.time()
    dead = recorders(run=False, heartbeat=2.0)
    recording = dead.record(Plumber(small()))
    dead.writer.flush()
    await clock.advance(6.5)
    reaped = store.reap()
    assert (reaped.workers, reaped.runs) == ([dead.worker.name], [recording.id])
    assert store.run(recording.id).noticed_at == start + 6.5
    assert store.reap().runs == []  # done once


async def test_a_finished_run_is_never_marked_crashed(store, recorders, clock):
    dead = recorders(run=False, heartbeat=1.0)
    plumber = Plumber(small())
    recording = dead.record(plumber)
    await plumber.run()
    dead.writer.flush()
    assert store.run(recording.id).status == "completed"
    await clock.advance(10)
    reaped = store.reap()
    assert reaped.workers == [dead.worker.name]
    assert reaped.runs == []
    assert store.run(recording.id).status == "completed"


async def test_a_worker_found_offline_while_alive_gets_its_live_runs_back(store, recorders, clock):
    recorder = recorders(run=False, heartbeat=1.0)  # alive, but its heartbeat was held up
    plumber = Plumber(small())
    recording = recorder.record(plumber)
    recorder.writer.flush()
    await clock.advance(3.5)
    assert store.reap().runs == [recording.id]
    recorder.beat()  # it was only frozen: its next beat
    assert store.worker(recorder.worker.id).status == "online"
    run = store.run(recording.id)
    assert (run.status, run.noticed_at, run.ended_at) == ("running", None, None)
    await plumber.run()
    recorder.writer.flush()
    assert store.run(recording.id).status == "completed"


async def test_a_crashed_run_s_own_worker_may_still_finish_it_but_nobody_else(
    store, recorders, clock
):
    recorder = recorders(run=False, heartbeat=1.0)
    plumber = Plumber(small())
    recording = recorder.record(plumber)
    recorder.writer.flush()
    await clock.advance(3.5)
    store.reap()
    assert store.transition(recording.id, "timed_out") is False  # crashed is finished
    await plumber.run()  # the process was alive after all: its own final report wins
    recorder.writer.flush()
    assert store.run(recording.id).status == "completed"


async def test_transitions_never_start_from_a_finished_status(store, recorders):
    recorder = recorders(run=False)
    live = recorder.record(Plumber(small()))
    plumber = Plumber(small())
    done = recorder.record(plumber)
    await plumber.run()
    recorder.writer.flush()
    assert store.transition(live.id, "timed_out", error="ran longer than 60 s") is True
    assert store.run(live.id).status == "timed_out"
    assert store.run(live.id).error.message == "ran longer than 60 s"
    assert store.transition(done.id, "timed_out") is False
    assert store.run(done.id).status == "completed"
    with pytest.raises(ValueError, match="a finished run never changes status"):
        store.transition(done.id, "running", from_statuses=("completed",))
    # The run's own final report no longer changes it either.
    live.finish()
    recorder.writer.flush()
    assert await asyncio.wrap_future(live.ended) is False
    assert store.run(live.id).status == "timed_out"


async def test_closing_a_recorder_marks_its_worker_offline_at_once(store, recorders, clock):
    recorder = recorders(run=False)
    recording = recorder.record(Plumber(small()))  # never finished
    recorder.close()
    assert store.worker(recorder.worker.id).status == "offline"
    assert store.run(recording.id).status == "crashed"


def test_the_rule_for_offline(monkeypatch):
    assert not is_offline(100.0, 5.0, 115.0)
    assert is_offline(100.0, 5.0, 115.001)
    assert heartbeat_period() == 5.0
    monkeypatch.setenv("PIPELINES_HEARTBEAT", "0.2")
    assert heartbeat_period() == 0.2
    assert heartbeat_period(3) == 3.0
    monkeypatch.setenv("PIPELINES_HEARTBEAT", "soon")
    with pytest.raises(ValueError, match="heartbeat period must be a number of seconds"):
        heartbeat_period()
    with pytest.raises(ValueError, match=r"from 0\.05 to 3600"):
        heartbeat_period(0)


async def test_a_heartbeat_never_fails_the_recorder_when_the_store_is_busy(
    store, recorders, clock, caplog
):
    recorder = recorders(run=False)
    store.close()  # the store is gone
    with caplog.at_level("WARNING", logger="pipelines"):
        recorder.beat()
    assert "heartbeat to the run store failed" in caplog.text
    assert recorder.beats == 0


def test_recorder_options_are_checked(store):
    with pytest.raises(ValueError, match="heartbeat period"):
        Recorder(store, heartbeat=-1)
