"""The watchdog on a virtual clock: timeouts, stalls naming their links, late occurrences, crash
detection; every change conditional; the run's own process stops a run a watchdog ended."""

from __future__ import annotations

import asyncio
import json

from schedule_harness import DAY0, hms, register_worker

from pipelines import Plumber
from pipelines.schedule.watchdog import Watchdog, judge, span, stall_lines
from pipelines.spec.limits import WatchdogSpec
from pipelines.store import schedules as book
from pipelines.store import writes
from pipelines.store.writes import RunStart, Snapshot

SPEC = {"nodes": {}, "graph": {}}


def start_run(store, clock, worker_id, run_id, *, pipeline="etl", limits=None, nodes=(), edges=()):
    spec = {**SPEC, "watchdog": limits} if limits else dict(SPEC)
    with store.transaction() as conn:
        writes.insert_run(
            conn,
            RunStart(
                run_id=run_id,
                pipeline=pipeline,
                trigger="cli",
                worker_id=worker_id,
                started_at=clock.time(),
                spec=json.dumps(spec),
                spec_hash=f"hash-{json.dumps(limits, sort_keys=True)}",
                spec_path=None,
                version=None,
                parameters="{}",
                graph=None,
                nodes=list(nodes),
                edges=list(edges),
            ),
        )


def moved(store, clock, run_id, received):
    """A snapshot in which node ``b`` received ``received`` items (an item moved)."""
    row = ("running", received, received, 0, 0, 0, 0, 0, 0, None, None, None, None, None, None)
    snap = Snapshot(run_id, clock.time(), {"b": row}, {}, received, received)
    with store.transaction() as conn:
        writes.write_snapshot(conn, snap, None)


async def test_a_run_longer_than_its_run_timeout_is_timed_out_once(store, clock):
    worker = register_worker(store, clock, "run-1")
    start_run(store, clock, worker, "aaaaaaaaaaaa", limits={"run_timeout": 60})
    watchdog = Watchdog(store)
    await clock.advance(60)
    assert watchdog.check().verdicts == []
    await clock.advance(1)
    report = watchdog.check()
    assert [(v.run_id, v.pipeline, v.status) for v in report.verdicts] == [
        ("aaaaaaaaaaaa", "etl", "timed_out")
    ]
    assert report.checked == 1
    run = store.run("aaaaaaaaaaaa")
    assert (run.status, run.duration, hms(run.ended_at)) == ("timed_out", 61.0, "00:01:01")
    assert (run.error.type, run.error.message) == (
        "TimedOut",
        "timed out: ran 1m 01s, longer than run_timeout (1m 00s); stopped by the watchdog",
    )
    again = watchdog.check()
    assert (again.verdicts, again.checked) == ([], 0)


async def test_a_run_that_finished_is_never_changed(store, clock):
    worker = register_worker(store, clock, "run-1")
    start_run(store, clock, worker, "bbbbbbbbbbbb", limits={"run_timeout": 5})
    store.transition("bbbbbbbbbbbb", "completed")
    await clock.advance(3600)
    assert Watchdog(store).check().verdicts == []
    assert store.run("bbbbbbbbbbbb").status == "completed"


async def test_a_crashed_run_is_reported_as_crashed_never_timed_out(store, clock):
    worker = register_worker(store, clock, "run-1", period=5.0)  # then silent: killed
    start_run(store, clock, worker, "cccccccccccc", limits={"run_timeout": 5})
    await clock.advance(16)
    report = Watchdog(store).check()
    assert [(v.status, v.message) for v in report.verdicts] == [
        ("crashed", "its worker stopped heartbeating")
    ]
    assert store.run("cccccccccccc").status == "crashed"
    assert Watchdog(store).check().verdicts == []


async def test_a_run_where_no_item_moved_for_its_stall_timeout_is_stalled_naming_its_links(
    store, clock
):
    worker = register_worker(store, clock, "run-1")
    nodes = [("inp", "source"), ("f", "transform"), ("z", "sink"), ("b", "sink")]
    edges = [("inp", "f", "data", 8), ("inp", "z", "data", 8), ("f", "z", "data", 8)]
    start_run(
        store, clock, worker, "dddddddddddd", limits={"stall_timeout": 30}, nodes=nodes, edges=edges
    )
    watchdog = Watchdog(store)
    for _ in range(3):  # items move every 20 s: never stalled
        await clock.advance(20)
        moved(store, clock, "dddddddddddd", int(clock.monotonic()))
        assert watchdog.check().verdicts == []
    with store.transaction() as conn:  # the last figures: inp->z is full, the others empty
        conn.execute("UPDATE run_nodes SET state = 'running' WHERE run_id = 'dddddddddddd'")
        conn.execute("UPDATE run_edges SET depth = 8 WHERE source = 'inp' AND target = 'z'")
    await clock.advance(30)
    assert watchdog.check().verdicts == []
    await clock.advance(1)
    (verdict,) = watchdog.check().verdicts
    assert verdict.status == "stalled"
    assert verdict.message == (
        "stalled: no item moved for 31 s (stall_timeout 30 s); stopped by the watchdog\n"
        "  - f->z: waits for an item (0 queued)\n"
        "  - inp->f: waits for an item (0 queued)\n"
        "  - inp->z: full (8 items), its producer waits for space"
    )
    run = store.run("dddddddddddd")
    assert (run.status, run.error.type, run.error.message) == (
        "stalled",
        "Stalled",
        verdict.message,
    )


async def test_the_watchdog_defaults_apply_where_a_spec_sets_no_limit(store, clock):
    worker = register_worker(store, clock, "run-1")
    start_run(store, clock, worker, "eeeeeeeeeeee")  # no limits of its own
    start_run(store, clock, worker, "ffffffffffff", limits={"run_timeout": 3600})
    start_run(store, clock, worker, "111111111111", pipeline="other")
    await clock.advance(121)
    defaults = WatchdogSpec(run_timeout=120)
    report = Watchdog(store, defaults=defaults, pipeline="etl").check()
    assert [v.run_id for v in report.verdicts] == ["eeeeeeeeeeee"]  # its own limit wins
    assert report.checked == 2
    assert store.run("111111111111").status == "running"  # another pipeline


async def test_queued_occurrences_past_late_after_become_late_runs(store, clock):
    worker = register_worker(store, clock, "serve-1")
    with store.transaction() as conn:
        definition = {"interval": 60.0, "watchdog": {"late_after": 90.0}}
        book.register(conn, "etl", definition, "every 60 s", "hash", True, clock.time())
        for due in (DAY0 + 60, DAY0 + 120):
            book.claim(conn, "etl", due, "queued", worker, clock.time())
    await clock.advance(151)
    report = Watchdog(store).check()
    assert [(v.pipeline, v.status) for v in report.verdicts] == [("etl", "late")]
    assert report.queued == 2
    late = store.run(report.verdicts[0].run_id)
    assert (late.status, late.trigger, hms(late.started_at), late.error.type) == (
        "late",
        "schedule",
        "00:01:00",
        "Late",
    )
    assert [(hms(o.due_at), o.fate) for o in book.occurrences(store.connection(), "etl")] == [
        ("00:02:00", "queued"),
        ("00:01:00", "late"),
    ]


def test_judge_checks_the_run_timeout_before_the_stall_timeout():
    limits = WatchdogSpec(run_timeout=10, stall_timeout=5)
    assert judge(0, 0, limits, 10)[0] == "stalled"
    assert judge(0, 0, limits, 11)[0] == "timed_out"
    assert judge(0, 8, limits, 10) is None
    assert judge(0, 0, WatchdogSpec(), 10**9) is None
    assert [span(s) for s in (4.25, 42, 303, 7203)] == ["4.2 s", "42 s", "5m 03s", "2h 00m 03s"]


def test_stall_lines_name_only_links_into_nodes_still_at_work():
    edges = [
        {"source": "a", "target": "b", "capacity": 4, "depth": 4},
        {"source": "b", "target": "c", "capacity": 0, "depth": 7},
        {"source": "c", "target": "d", "capacity": 4, "depth": 0},
    ]
    states = {"b": "running", "c": "waiting", "d": "done"}
    assert stall_lines(edges, states) == [
        "a->b: full (4 items), its producer waits for space",
        "b->c: waits for an item (7 queued)",
    ]


async def endless():
    while True:
        yield 1
        await asyncio.sleep(0.001)


async def keep(x):
    return x


async def test_the_process_running_a_run_stops_it_once_a_watchdog_ended_it(store, clock, recorders):
    recorder = recorders(heartbeat=5.0)
    plumber = Plumber(
        {
            "nodes": {"src": {"coro": endless}, "out": {"coro": keep}},
            "graph": {"src": ["out"], "out": None},
        }
    )
    recording = recorder.record(plumber)
    task = asyncio.create_task(plumber.run())
    for _ in range(100):
        await asyncio.sleep(0.005)
        if recording.written.done() and plumber.running:
            break
    assert store.transition(recording.id, "timed_out", error="timed out")
    await clock.advance(5)  # the next heartbeat sees it
    async with asyncio.timeout(10):
        result = await task
    assert result.status == "stopped"
    assert recording.halted_by == "timed_out"
    assert recording.halt("stalled") is False  # only once
    run = store.run(recording.id)
    assert (run.status, run.error.message) == ("timed_out", "timed out")  # never rewritten
