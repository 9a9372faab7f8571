"""The scheduler against a real store on a virtual clock: exact start times, every occurrence's
fate in the store, restarts with catch-up, two schedulers on one store, queue, lateness."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from schedule_harness import DAY0, FakeHost, hms, register_worker

from pipelines.schedule.scheduler import Scheduled, Scheduler
from pipelines.spec.limits import NO_LIMITS, WatchdogSpec
from pipelines.spec.schedule import ScheduleSpec
from pipelines.store import Store
from pipelines.store import schedules as book

MINUTE = 60.0


def fates(store, name="etl") -> list[tuple]:
    """Every occurrence row, oldest first: (time, fate, reason, count, has a run id)."""
    rows = reversed(book.occurrences(store.connection(), name, 10_000))
    return [
        (hms(o.due_at), o.fate, o.reason, o.count, o.run_id is not None)
        if o.count != 1
        else (hms(o.due_at), o.fate, o.reason, o.run_id is not None)
        for o in rows
    ]


def scheduler(store, clock, host, spec, *, limits=NO_LIMITS, poll=1.0, **options):
    entry = Scheduled("etl", spec, limits, "hash")
    return Scheduler(
        store, [entry], host.start, worker_id=host.worker_id, clock=clock, poll=poll, **options
    )


@contextlib.asynccontextmanager
async def running(sched):
    task = asyncio.create_task(sched.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_runs_start_exactly_at_their_times_and_overlaps_are_skipped(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=90)
    sched = scheduler(store, clock, host, ScheduleSpec(interval=MINUTE))
    async with running(sched):
        await clock.advance(6 * MINUTE)
    assert host.times() == ["00:01:00", "00:03:00", "00:05:00"]
    assert fates(store) == [
        ("00:01:00", "started", None, True),
        ("00:02:00", "skipped", "overlap", False),
        ("00:03:00", "started", None, True),
        ("00:04:00", "skipped", "overlap", False),
        ("00:05:00", "started", None, True),
        ("00:06:00", "skipped", "overlap", False),
    ]
    started = [o.run_id for o in book.occurrences(store.connection(), "etl") if o.run_id]
    assert sorted(started) == sorted(run_id for _, _, run_id, _ in host.started)
    assert {run.status for run in store.runs()} == {"completed", "running"}


async def test_skips_for_one_reason_in_a_row_share_one_row(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=3600)
    async with running(scheduler(store, clock, host, ScheduleSpec(interval=MINUTE))):
        await clock.advance(30 * MINUTE)
    assert fates(store) == [
        ("00:01:00", "started", None, True),
        ("00:02:00", "skipped", "overlap", 29, False),  # 00:02 .. 00:30
    ]
    (row,) = [o for o in book.occurrences(store.connection(), "etl") if o.fate == "skipped"]
    assert hms(row.last_due) == "00:30:00"


async def test_the_schedule_keeps_its_next_occurrence_and_last_outcome(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    async with running(scheduler(store, clock, host, ScheduleSpec(interval=MINUTE))):
        await clock.advance(2 * MINUTE + 30)
    record = book.record(store.connection(), "etl", recent=5)
    assert (hms(record.row.cursor), hms(record.row.next_at)) == ("00:02:00", "00:03:00")
    assert record.row.description == "every 60 s"
    assert (record.last_status, record.last_run.run_id) == ("completed", host.started[-1][2])
    assert (record.worker, record.worker_status, record.queued) == ("serve-1", "online", 0)
    data = record.as_json()
    assert data["next_at"] == "2024-01-01T00:03:00.000Z"
    assert data["last_run_at"] == "2024-01-01T00:02:00.000Z"
    assert [o["due_at"] for o in data["recent"]] == [
        "2024-01-01T00:02:00.000Z",
        "2024-01-01T00:01:00.000Z",
    ]


@pytest.mark.parametrize(
    ("catchup", "expected"),
    [
        (
            "latest",
            [("00:03:00", "skipped", "catchup", 26, False), ("00:29:00", "started", None, True)],
        ),
        ("none", [("00:03:00", "skipped", "catchup", 27, False)]),
        (
            "all",
            [("00:03:00", "started", None, True), ("00:04:00", "skipped", "overlap", 26, False)],
        ),
    ],
)
async def test_a_restarted_server_continues_the_schedule_and_applies_catchup(
    store, clock, catchup, expected
):
    spec = ScheduleSpec(interval=MINUTE, catchup=catchup)
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    async with running(scheduler(store, clock, host, spec)):
        await clock.advance(2 * MINUTE + 30)
    await clock.advance(27 * MINUTE)  # down from 00:02:30 to 00:29:30
    again = FakeHost(store, clock, register_worker(store, clock, "serve-2"), duration=10)
    async with running(scheduler(store, clock, again, spec)):
        await clock.advance(MINUTE)
    assert fates(store) == [
        ("00:01:00", "started", None, True),
        ("00:02:00", "started", None, True),
        *expected,
        ("00:30:00", "started", None, True),
    ]
    assert again.times()[-1] == "00:30:00"


async def test_two_schedulers_on_one_store_never_start_an_occurrence_twice(tmp_path, clock):
    stores = [Store(tmp_path / "runs.db", clock=clock) for _ in range(2)]
    hosts = [
        FakeHost(s, clock, register_worker(s, clock, f"serve-{i}"), duration=30)
        for i, s in enumerate(stores)
    ]
    spec = ScheduleSpec(interval=MINUTE, overlap="allow")
    first, second = (
        scheduler(s, clock, h, spec, poll=7.0) for s, h in zip(stores, hosts, strict=True)
    )
    try:
        # The first serves alone until 00:20:30, both until 00:30:30, the second alone after.
        async with running(first):
            await clock.advance(20 * MINUTE + 30)
            async with running(second):
                await clock.advance(10 * MINUTE)
                assert hosts[1].started == []  # both woke at each time: the first took each one
        async with running(second):
            await clock.advance(29 * MINUTE + 30)
        assert hosts[0].times()[-1] == "00:30:00" and hosts[1].times()[0] == "00:31:00"
        started = sorted(hms(t) for h in hosts for t, *_ in h.started)
        assert started == [f"00:{m:02d}:00" for m in range(1, 60)] + ["01:00:00"]
        rows = fates(stores[0])
        assert [r[0] for r in rows] == started  # one row per occurrence, each started once
        ids = [run_id for h in hosts for _, _, run_id, _ in h.started]
        assert len(set(ids)) == len(ids) == 60
    finally:
        for s in stores:
            s.close()


async def test_an_occurrence_claimed_by_another_server_is_not_started_again(store, clock):
    other = register_worker(store, clock, "serve-other")
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    sched = scheduler(store, clock, host, ScheduleSpec(interval=MINUTE, overlap="allow"))
    await sched.prepare()
    with store.transaction() as conn:  # another server claimed 00:01 in its own transaction
        assert book.claim(
            conn, "etl", DAY0 + MINUTE, "started", other, clock.time(), "cafe00000001"
        )
        assert not book.claim(conn, "etl", DAY0 + MINUTE, "started", other, clock.time(), "x")
    await FakeHost(store, clock, other, duration=10).start("etl", run_id="cafe00000001")
    await clock.advance(2 * MINUTE)
    await sched.tick()
    assert host.times() == ["00:02:00"]
    assert [(row[0], row[3]) for row in fates(store)] == [("00:01:00", True), ("00:02:00", True)]
    first = book.occurrences(store.connection(), "etl")[-1]
    assert (first.run_id, first.worker_id) == ("cafe00000001", other)


async def test_overlap_queue_runs_waiting_occurrences_as_runs_end(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=150)
    spec = ScheduleSpec(interval=MINUTE, overlap="queue", max_queued=2)
    async with running(scheduler(store, clock, host, spec)):
        await clock.advance(7 * MINUTE)
    assert host.times() == ["00:01:00", "00:03:30", "00:06:00"]
    assert fates(store) == [
        ("00:01:00", "started", None, True),  # until 00:03:30
        ("00:02:00", "started", None, True),  # queued, started at 00:03:30, until 00:06
        ("00:03:00", "started", None, True),  # queued, started at 00:06
        ("00:04:00", "queued", None, False),
        ("00:05:00", "skipped", "queue_full", False),  # 00:03 and 00:04 wait: the bound is 2
        ("00:06:00", "queued", None, False),
        ("00:07:00", "skipped", "queue_full", False),
    ]


async def test_late_after_turns_waiting_occurrences_into_late_runs(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=600)
    spec = ScheduleSpec(interval=MINUTE, overlap="queue")
    limits = WatchdogSpec(late_after=150)
    async with running(scheduler(store, clock, host, spec, limits=limits)):
        await clock.advance(5 * MINUTE)
    assert fates(store) == [
        ("00:01:00", "started", None, True),
        ("00:02:00", "late", None, True),  # found late at 00:04:31
        ("00:03:00", "queued", None, False),
        ("00:04:00", "queued", None, False),
        ("00:05:00", "queued", None, False),
    ]
    late = store.runs(status="late")
    assert [
        (run.pipeline, run.trigger, hms(run.started_at), hms(run.ended_at)) for run in late
    ] == [("etl", "schedule", "00:02:00", "00:04:31")]
    assert late[0].duration is None
    assert late[0].error.type == "Late"
    assert late[0].error.message == (
        "not started within late_after (150 s) of its time 2024-01-01 00:02:00 UTC (151 s late):"
        " the previous run was still running; cancelled"
    )


async def test_a_disabled_schedule_accounts_for_its_occurrences_in_one_row(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    async with running(scheduler(store, clock, host, ScheduleSpec(interval=MINUTE, enabled=False))):
        await clock.advance(10 * MINUTE)
    assert host.started == []
    assert fates(store) == [("00:01:00", "skipped", "disabled", 10, False)]
    assert book.record(store.connection(), "etl").as_json()["next_at"] is None


async def test_a_paused_schedule_skips_its_occurrences_until_it_is_resumed(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)

    def set_paused(paused):
        with store.transaction() as conn:
            book.set_paused(conn, "etl", paused, clock.time())

    async with running(scheduler(store, clock, host, ScheduleSpec(interval=MINUTE))):
        await clock.advance(2 * MINUTE + 30)
        set_paused(True)
        await clock.advance(3 * MINUTE)
        set_paused(False)
        await clock.advance(2 * MINUTE)
    assert host.times() == ["00:01:00", "00:02:00", "00:06:00", "00:07:00"]
    assert fates(store) == [
        ("00:01:00", "started", None, True),
        ("00:02:00", "started", None, True),
        ("00:03:00", "skipped", "paused", 3, False),  # 00:03 .. 00:05
        ("00:06:00", "started", None, True),
        ("00:07:00", "started", None, True),
    ]


async def test_a_start_refused_for_lack_of_a_slot_is_skipped_as_busy(store, clock):
    class Busy(RuntimeError):
        pass

    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    host.refuse = Busy("8 hosted runs are live already")
    sched = scheduler(store, clock, host, ScheduleSpec(interval=MINUTE), busy=(Busy,))
    async with running(sched):
        await clock.advance(MINUTE)
        host.refuse = ValueError("no such node")
        await clock.advance(MINUTE)
        host.refuse = None
        await clock.advance(MINUTE)
    assert fates(store) == [
        ("00:01:00", "skipped", "busy", False),
        ("00:02:00", "skipped", "error", False),
        ("00:03:00", "started", None, True),
    ]


async def test_a_busy_queued_occurrence_goes_back_to_the_queue(store, clock):
    class Busy(RuntimeError):
        pass

    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    host.refuse = Busy("full")
    spec = ScheduleSpec(interval=MINUTE, overlap="queue")
    sched = scheduler(store, clock, host, spec, busy=(Busy,), poll=15.0)
    async with running(sched):
        await clock.advance(MINUTE + 20)
        assert fates(store) == [("00:01:00", "queued", None, False)]
        host.refuse = None
        await clock.advance(15)
    assert host.times() == ["00:01:30"]
    assert fates(store) == [("00:01:00", "started", None, True)]


async def test_a_start_claimed_by_a_server_that_died_is_skipped_as_crashed(store, clock):
    dead = register_worker(store, clock, "serve-dead", period=5.0)
    with store.transaction() as conn:
        book.register(conn, "etl", {}, "every 60 s", "hash", True, clock.time())
        book.claim(conn, "etl", DAY0 + 30, "started", dead, clock.time(), "0123456789ab")
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    async with running(scheduler(store, clock, host, ScheduleSpec(interval=MINUTE))):
        await clock.advance(MINUTE)
    assert fates(store) == [
        ("00:00:30", "skipped", "crashed", False),
        ("00:01:00", "started", None, True),
    ]


async def test_a_start_never_recorded_blocks_the_schedule_for_at_most_a_minute(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    with store.transaction() as conn:  # claimed by this (online) server, never recorded
        book.register(conn, "etl", {}, "every 60 s", "hash", True, clock.time())
        book.claim(conn, "etl", DAY0 + 30, "started", host.worker_id, clock.time(), "0123456789ab")
    async with running(scheduler(store, clock, host, ScheduleSpec(interval=MINUTE))):
        await clock.advance(2 * MINUTE)
    assert fates(store) == [
        ("00:00:30", "skipped", "error", False),  # found lost at 00:02 (claimed at 00:00)
        ("00:01:00", "skipped", "overlap", False),  # it still counted as starting then
        ("00:02:00", "started", None, True),
    ]


async def test_a_run_of_the_pipeline_started_elsewhere_counts_as_overlap(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    sched = scheduler(store, clock, host, ScheduleSpec(interval=MINUTE))
    await sched.prepare()
    await host.start("etl", trigger="api", run_id="a1b2c3d4e5f6")  # a manual run, 10 s
    host.duration = 3600
    await clock.advance(5)
    await sched.tick()
    await clock.advance(MINUTE)
    await sched.tick()
    assert fates(store) == [("00:01:00", "started", None, True)]
    assert sched.history["etl"][0].action == "start"


async def test_parameters_go_to_every_scheduled_run(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    spec = ScheduleSpec(interval=MINUTE, parameters={"load.db_path": "/tmp/x.db"})
    async with running(scheduler(store, clock, host, spec)):
        await clock.advance(2 * MINUTE)
    assert [p for *_, p in host.started] == [{"load.db_path": "/tmp/x.db"}] * 2


async def test_a_cron_schedule_in_a_time_zone_over_two_days(store, clock):
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=10)
    spec = ScheduleSpec(cron="30 1,13,17 * * *", timezone="Europe/Madrid")
    async with running(scheduler(store, clock, host, spec, poll=3600.0)):
        await clock.advance(48 * 3600)
    # Madrid is UTC+1 in January.
    assert host.times() == [
        "00:30:00",
        "12:30:00",
        "16:30:00",
        "00:30:00+1d",
        "12:30:00+1d",
        "16:30:00+1d",
    ]


async def numbers():
    yield 1


async def keep(x):
    return x


async def test_a_late_run_of_a_hosted_pipeline_has_its_spec_nodes_and_diagram(store, clock):
    from pipelines import Plumber
    from pipelines.store.run_start import first_record

    spec = {"nodes": {"src": {"coro": numbers}, "out": {"coro": keep}}, "graph": {"src": ["out"]}}
    spec["graph"]["out"] = None
    template = first_record(
        Plumber(spec),
        run_id="",
        worker_id=None,
        started_at=0.0,
        pipeline="etl",
        spec={"name": "etl"},
        spec_path="/srv/etl.yaml",
        trigger="schedule",
    )
    host = FakeHost(store, clock, register_worker(store, clock, "serve-1"), duration=600)
    entry = Scheduled(
        "etl",
        ScheduleSpec(interval=MINUTE, overlap="queue"),
        WatchdogSpec(late_after=30),
        "h",
        template,
    )
    sched = Scheduler(store, [entry], host.start, worker_id=host.worker_id, clock=clock)
    async with running(sched):
        await clock.advance(3 * MINUTE)
    (late,) = store.runs(status="late")
    run = store.run(late.id)
    assert (hms(run.started_at), hms(run.ended_at), run.duration) == ("00:02:00", "00:02:31", None)
    assert (run.spec_path, run.spec, run.trigger, run.worker) == (
        "/srv/etl.yaml",
        {"name": "etl"},
        "schedule",
        "serve-1",
    )
    assert {name: node.state for name, node in run.nodes.items()} == {
        "src": "waiting",
        "out": "waiting",
    }
    assert run.graph is not None and [(e.source, e.target) for e in run.edges] == [("src", "out")]
