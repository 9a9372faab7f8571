"""Schedules, the watchdog and cycles inside the real server (real time, short periods), and
``GET /api/schedules``."""

from __future__ import annotations

import asyncio

from schedule_harness import DAY0, FakeHost, register_worker

from pipelines.schedule.scheduler import Scheduled, Scheduler
from pipelines.spec.schedule import ScheduleSpec
from pipelines.testing import VirtualClock


async def get(session, path):
    async with session.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def eventually(check, timeout=20.0):
    """Poll ``check()`` (async) until it returns something true; return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.05)


async def test_a_server_runs_the_schedule_of_a_hosted_spec(serve):
    server, session = await serve("every_second.yaml", schedule_poll=0.1)

    async def two_done():
        runs = (await get(session, "/api/runs?pipeline=every-second"))["runs"]
        done = [r for r in runs if r["status"] == "completed"]
        return done if len(done) >= 2 else None

    done = await eventually(two_done)
    assert {r["trigger"] for r in done} == {"schedule"}
    (schedule,) = (await get(session, "/api/schedules"))["schedules"]
    assert (schedule["name"], schedule["schedule"], schedule["hosted"], schedule["enabled"]) == (
        "every-second",
        "every 1 s",
        True,
        True,
    )
    assert schedule["definition"] == {
        "interval": 1.0,
        "overlap": "skip",
        "catchup": "latest",
        "enabled": True,
        "parameters": {},
        "watchdog": {},
    }
    assert schedule["worker"] == server.recorder.worker.name
    started = [o for o in schedule["recent"] if o["fate"] == "started"]
    assert {o["run_id"] for o in started} >= {r["id"] for r in done}
    assert schedule["next_at"] > schedule["last_at"]
    hosted = (await get(session, "/api/pipelines"))["pipelines"]
    assert [(p["name"], p["schedule"], p["cycle"]) for p in hosted] == [
        ("every-second", "every 1 s", "once")
    ]


async def test_the_api_shows_every_occurrence_of_a_schedule(store, serve):
    clock = VirtualClock(start=DAY0)  # written by a scheduler on a virtual clock beforehand
    host = FakeHost(store, clock, register_worker(store, clock, "elsewhere"), duration=90)
    entry = Scheduled("etl", ScheduleSpec(interval=60.0), spec_hash="h")
    scheduler = Scheduler(store, [entry], host.start, worker_id=host.worker_id, clock=clock)
    task = asyncio.create_task(scheduler.run())
    await clock.advance(240)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    _, session = await serve()
    data = await get(session, "/api/schedules/etl?recent=10")
    assert (data["hosted"], data["last_status"], data["queued"], data["worker"]) == (
        False,
        "skipped: overlap",
        0,
        "elsewhere",
    )
    assert (data["next_at"], data["last_run_at"]) == (
        "2024-01-01T00:05:00.000Z",
        "2024-01-01T00:03:00.000Z",
    )
    assert [(o["due_at"][11:19], o["fate"], o["reason"]) for o in data["recent"]] == [
        ("00:04:00", "skipped", "overlap"),
        ("00:03:00", "started", None),
        ("00:02:00", "skipped", "overlap"),
        ("00:01:00", "started", None),
    ]
    listed = (await get(session, "/api/schedules?recent=1"))["schedules"]
    assert [(s["name"], len(s["recent"])) for s in listed] == [("etl", 1)]
    async with session.get("/api/schedules/nope") as response:
        assert (response.status, await response.json()) == (404, {"error": "no schedule 'nope'"})
    async with session.get("/api/schedules?recent=x") as response:
        assert (response.status, await response.json()) == (
            400,
            {"error": "recent must be a whole number from 0 to 1000"},
        )


async def test_the_server_watchdog_times_out_a_hosted_run_and_stops_it(serve):
    server, session = await serve("timeout.yaml", watchdog_interval=0.2)
    async with session.post("/api/pipelines/timeout/runs") as response:
        run_id = (await response.json())["id"]

    async def timed_out():
        run = await get(session, f"/api/runs/{run_id}")
        return run if run["status"] == "timed_out" else None

    run = await eventually(timed_out)
    assert run["error"]["type"] == "TimedOut"
    assert run["error"]["message"].startswith("timed out: ran ")
    assert run["error"]["message"].endswith(
        "longer than run_timeout (1.0 s); stopped by the watchdog"
    )
    await eventually(lambda: asyncio.sleep(0, result=not server.state.host.hosts(run_id)))


async def test_the_server_watchdog_finds_a_stalled_run_and_names_its_links(serve):
    server, session = await serve("stalls.yaml", watchdog_interval=0.2)
    async with session.post("/api/pipelines/stalls/runs") as response:
        run_id = (await response.json())["id"]

    async def stalled():
        run = await get(session, f"/api/runs/{run_id}")
        return run if run["status"] == "stalled" else None

    run = await eventually(stalled)
    first, *links = run["error"]["message"].splitlines()
    assert first.startswith("stalled: no item moved for ")
    assert links == ["  - numbers->out: full (4 items), its producer waits for space"]
    await eventually(lambda: asyncio.sleep(0, result=not server.state.host.hosts(run_id)))


async def test_a_hosted_spec_with_cycles_records_each_cycle_linked_to_the_first(serve):
    _, session = await serve("cycles.yaml")
    async with session.post("/api/pipelines/cycles/runs") as response:
        first = (await response.json())["id"]

    async def three():
        runs = (await get(session, "/api/runs?pipeline=cycles"))["runs"]
        return runs if len(runs) == 3 and all(r["status"] == "completed" for r in runs) else None

    runs = await eventually(three)
    assert [(r["cycle_of"], r["cycle"]) for r in runs] == [(first, 3), (first, 2), (first, 1)]
    assert runs[-1]["id"] == first
    hosted = (await get(session, "/api/pipelines"))["pipelines"]
    assert (hosted[0]["cycle"], hosted[0]["active_runs"]) == ("3 times", [])


async def test_stopping_any_cycle_of_a_hosted_run_ends_its_cycles(serve):
    server, session = await serve("forever.yaml")
    async with session.post("/api/pipelines/forever/runs") as response:
        first = (await response.json())["id"]

    async def second_cycle():
        runs = (await get(session, "/api/runs?pipeline=forever"))["runs"]
        live = [r for r in runs if r["status"] == "running" and r["cycle"] >= 2]
        return live[0] if live else None

    current = await eventually(second_cycle)
    assert server.state.host.active("forever") == [current["id"]]
    async with session.post(f"/api/runs/{current['id']}/stop") as response:
        assert response.status == 202
    await eventually(lambda: asyncio.sleep(0, result=not server.state.host.active("forever")))
    runs = (await get(session, "/api/runs?pipeline=forever"))["runs"]
    assert runs[0]["id"] == current["id"] and runs[0]["status"] == "stopped"
    assert {r["cycle_of"] for r in runs} == {first}
    assert all(r["status"] == "completed" for r in runs[1:])


async def post(session, path):
    async with session.post(path) as response:
        return response.status, await response.json()


async def test_pausing_a_hosted_schedule_skips_its_occurrences_until_resumed(serve):
    _, session = await serve("every_second.yaml", schedule_poll=0.1)

    async def registered():
        async with session.get("/api/schedules/every-second?recent=0") as response:
            return response.status == 200  # once the scheduler has registered it

    await eventually(registered)
    status, paused = await post(session, "/api/schedules/every-second/pause")
    assert (status, paused["paused"], paused["next_at"], paused["hosted"]) == (
        200,
        True,
        None,
        True,
    )

    async def skipped_as_paused():
        recent = (await get(session, "/api/schedules/every-second"))["recent"]
        return [o for o in recent if o["reason"] == "paused"]

    (skips,) = await eventually(skipped_as_paused)
    assert skips["fate"] == "skipped"
    status, resumed = await post(session, "/api/schedules/every-second/resume")
    assert (status, resumed["paused"], resumed["paused_at"]) == (200, False, None)

    async def started_after_resume():
        recent = (await get(session, "/api/schedules/every-second"))["recent"]
        return [o for o in recent if o["fate"] == "started" and o["due_at"] > skips["last_due"]]

    await eventually(started_after_resume)
    for verb in ("pause", "resume"):
        assert await post(session, f"/api/schedules/nope/{verb}") == (
            404,
            {"error": "no schedule 'nope'"},
        )
