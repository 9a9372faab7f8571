"""The JSON API against the real server: names, statuses, errors, hosting, limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from pipelines import Plumber
from pipelines.store import Recorder

SPECS = Path(__file__).resolve().parent.parent / "specs"


async def numbers(n=4):
    for i in range(1, n + 1):
        yield i


async def fail_on_three(x):
    if x == 3:
        raise ValueError("3 is bad")
    return x


def spec(name="py", middle=None):
    async def keep(x):
        return x

    return {
        "name": name,
        "nodes": {
            "numbers": {"coro": numbers},
            "middle": {"coro": middle or keep},
            "out": {"coro": keep},
        },
        "graph": {"numbers": ["middle"], "middle": ["out"], "out": None},
    }


async def record(store, *specs):
    """Record runs of ``specs`` from this process (another worker than the server)."""
    ids = []
    with Recorder(store, worker_name="py-worker", keep=0) as recorder:
        for data in specs:
            plumber = Plumber(data)
            recording = recorder.record(plumber)
            with contextlib.suppress(Exception):
                await plumber.run()
            ids.append(recording.id)
    return ids


async def wait_until(session, run_id, check, tries=400):
    """The run once ``check(run)`` holds (polled every 50 ms)."""
    for _ in range(tries):
        async with session.get(f"/api/runs/{run_id}") as response:
            data = await response.json()
        if check(data):
            return data
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never got there: {data}")


async def wait_status(session, run_id, wanted):
    return await wait_until(session, run_id, lambda run: run["status"] in wanted)


async def moving(session, run_id):
    """Wait until a live run has produced something."""
    return await wait_until(session, run_id, lambda run: run["items_in"] > 0)


async def test_healthz(serve):
    _, session = await serve()
    async with session.get("/healthz") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok"})


async def test_runs_are_listed_newest_first_with_the_contract_names(store, serve):
    ok, bad = await record(store, spec("a"), spec("b", fail_on_three))
    _, session = await serve()
    async with session.get("/api/runs") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        runs = (await response.json())["runs"]
    assert [(r["id"], r["pipeline"], r["status"]) for r in runs] == [
        (bad, "b", "failed"),
        (ok, "a", "completed"),
    ]
    first = runs[1]
    assert {"id", "pipeline", "status", "started_at", "ended_at", "duration", "worker"} <= set(
        first
    )
    assert first["worker"] == "py-worker"
    assert first["started_at"].endswith("Z") and first["ended_at"].endswith("Z")
    assert isinstance(first["duration"], float)
    assert (first["items_in"], first["items_out"], first["hosted"]) == (4, 4, False)


async def test_runs_filter_by_pipeline_status_and_limit(store, serve):
    a1, b1, a2 = await record(store, spec("a"), spec("b"), spec("a", fail_on_three))
    _, session = await serve()

    async def ids(query):
        async with session.get("/api/runs" + query) as response:
            return [r["id"] for r in (await response.json())["runs"]]

    assert await ids("?pipeline=a") == [a2, a1]
    assert await ids("?status=completed") == [b1, a1]
    assert await ids("?pipeline=a&status=completed") == [a1]
    assert await ids("?limit=1") == [a2]


async def test_bad_queries_are_400_with_a_json_error(serve):
    _, session = await serve()
    for query, message in (
        ("?limit=0", "limit must be a whole number from 1 to 1000"),
        ("?limit=5000", "limit must be a whole number from 1 to 1000"),
        ("?limit=ten", "limit must be a whole number from 1 to 1000"),
        (
            "?status=lost",
            "status must be one of running, completed, failed, stopped, crashed, timed_out,"
            " stalled, late",
        ),
    ):
        async with session.get("/api/runs" + query) as response:
            assert (response.status, await response.json()) == (400, {"error": message})


async def test_one_run_has_nodes_edges_and_its_error(store, serve):
    (run_id,) = await record(store, spec("b", fail_on_three))
    _, session = await serve()
    async with session.get(f"/api/runs/{run_id}") as response:
        run = await response.json()
    assert run["status"] == "failed"
    assert run["error"] == {
        "node": "middle",
        "item": "3",
        "type": "ValueError",
        "message": "3 is bad",
    }
    assert list(run["nodes"]) == ["numbers", "middle", "out"]
    assert set(run["nodes"]["middle"]) == {
        "kind",
        "state",
        "received",
        "emitted",
        "failed",
        "retried",
        "dropped",
        "peak_depth",
        "peak_in_flight",
        "depth",
        "busy",
        "latency_p50",
        "latency_p95",
        "latency_max",
        "duration",
        "last_error",
    }
    middle = run["nodes"]["middle"]
    assert (middle["state"], middle["received"], middle["failed"]) == ("failed", 3, 1)
    assert [list(e) for e in run["edges"]] == [
        ["source", "target", "kind", "capacity", "peak_depth", "depth", "dropped"]
    ] * 2
    assert [(e["source"], e["target"], e["capacity"]) for e in run["edges"]] == [
        ("numbers", "middle", 1024),
        ("middle", "out", 1024),
    ]


async def test_an_unknown_run_is_a_404_with_a_json_error(serve):
    _, session = await serve()
    for path in ("/api/runs/abc", "/api/runs/abc/events", "/api/runs/abc/diagram"):
        async with session.get(path) as response:
            assert (response.status, await response.json()) == (404, {"error": "no run 'abc'"})
    async with session.post("/api/runs/abc/stop") as response:
        assert response.status == 404


async def test_workers_list_the_server_itself_and_other_recorders(store, serve):
    await record(store, spec())
    _server, session = await serve(worker_name="dashboard")
    async with session.get("/api/workers") as response:
        workers = (await response.json())["workers"]
    assert [(w["name"], w["status"], w["kind"]) for w in workers] == [
        ("dashboard", "online", "serve"),
        ("py-worker", "offline", "python"),
    ]
    assert set(workers[0]) >= {"name", "version", "host", "pid", "status", "last_heartbeat"}


async def test_hosted_pipelines_are_listed_started_and_recorded(serve):
    _, session = await serve("numbers.yaml", "slow.yaml")
    async with session.get("/api/pipelines") as response:
        hosted = (await response.json())["pipelines"]
    assert [(p["name"], p["version"], p["nodes"], p["active_runs"]) for p in hosted] == [
        ("numbers", None, ["numbers", "double", "out"], []),
        ("slow", "3.1", ["numbers", "double", "out"], []),
    ]
    async with session.post("/api/pipelines/numbers/runs") as response:
        assert response.status == 201
        started = await response.json()
    assert set(started) == {"id", "pipeline", "status"}
    assert (started["pipeline"], started["status"]) == ("numbers", "running")
    run = await wait_status(session, started["id"], {"completed"})
    assert (run["trigger"], run["items_out"], run["spec_path"]) == (
        "api",
        5,
        str(SPECS / "numbers.yaml"),
    )


async def test_starting_an_unknown_pipeline_or_with_parameters_is_refused(serve):
    _, session = await serve("numbers.yaml")
    async with session.post("/api/pipelines/nope/runs") as response:
        assert (response.status, await response.json()) == (
            404,
            {"error": "this server hosts no pipeline 'nope'"},
        )
    async with session.post("/api/pipelines/numbers/runs", json={"numbers.n": 9}) as response:
        assert (response.status, await response.json()) == (
            400,
            {"error": "a hosted run takes no parameters: send no body, or {}"},
        )


async def test_too_many_live_hosted_runs_are_refused(serve):
    _, session = await serve("endless.yaml", max_active=1)
    async with session.post("/api/pipelines/endless/runs") as response:
        first = (await response.json())["id"]
    async with session.post("/api/pipelines/endless/runs") as response:
        assert (response.status, await response.json()) == (
            429,
            {"error": "1 hosted runs are live already (the most this server runs)"},
        )
    async with session.post(f"/api/runs/{first}/stop") as response:
        assert response.status == 202


async def test_stop_drains_a_hosted_run(serve):
    _, session = await serve("endless.yaml")
    async with session.post("/api/pipelines/endless/runs") as response:
        run_id = (await response.json())["id"]
    assert (await moving(session, run_id))["hosted"] is True
    async with session.post(f"/api/runs/{run_id}/stop") as response:
        assert (response.status, await response.json()) == (
            202,
            {"id": run_id, "status": "stopping", "mode": "drain"},
        )
    run = await wait_status(session, run_id, {"stopped"})
    nodes = run["nodes"]
    assert nodes["ticks"]["emitted"] == nodes["out"]["received"] > 0  # drained
    assert run["hosted"] is False
    async with session.post(f"/api/runs/{run_id}/stop") as response:
        assert (response.status, await response.json()) == (
            409,
            {"error": f"run {run_id} already ended (stopped)"},
        )


async def test_cancel_stops_a_hosted_run_whose_drain_cannot_end(serve):
    _, session = await serve("stuck.yaml")
    async with session.post("/api/pipelines/stuck/runs") as response:
        run_id = (await response.json())["id"]
    # The stuck node has its first item (counted as received only once its call ends).
    await wait_until(session, run_id, lambda run: run["nodes"]["stuck"]["peak_in_flight"] == 1)
    async with session.post(f"/api/runs/{run_id}/stop") as response:
        assert response.status == 202  # a drain: the stuck node never lets it end
    async with session.post(f"/api/runs/{run_id}/stop?mode=cancel") as response:
        assert (response.status, await response.json()) == (
            202,
            {"id": run_id, "status": "stopping", "mode": "cancel"},
        )
    run = await wait_status(session, run_id, {"stopped"})
    assert (run["nodes"]["stuck"]["emitted"], run["items_out"]) == (0, 0)
    assert run["hosted"] is False


async def test_a_stop_mode_other_than_drain_or_cancel_is_refused(serve):
    _, session = await serve("endless.yaml")
    async with session.post("/api/pipelines/endless/runs") as response:
        run_id = (await response.json())["id"]
    async with session.post(f"/api/runs/{run_id}/stop?mode=now") as response:
        assert (response.status, await response.json()) == (
            400,
            {"error": "mode must be drain or cancel, not 'now'"},
        )
    async with session.get(f"/api/runs/{run_id}") as response:
        assert (await response.json())["status"] == "running"
    async with session.post(f"/api/runs/{run_id}/stop") as response:
        assert response.status == 202


async def test_a_run_this_server_does_not_host_cannot_be_stopped_here(store, serve):
    _, session = await serve()
    with Recorder(store, keep=0) as recorder:
        plumber = Plumber(spec())
        recording = recorder.record(plumber)
        recording.written.result(10)
        async with session.post(f"/api/runs/{recording.id}/stop") as response:
            assert (response.status, await response.json()) == (
                409,
                {"error": f"run {recording.id} is not hosted by this server"},
            )
        recording.finish()


async def test_stopping_the_server_drains_its_hosted_runs(store, serve):
    server, session = await serve("endless.yaml")
    async with session.post("/api/pipelines/endless/runs") as response:
        run_id = (await response.json())["id"]
    await moving(session, run_id)
    await server.stop()
    run = store.run(run_id)
    assert run.status == "stopped"
    assert run.nodes["ticks"].emitted == run.nodes["out"].received
    assert {w.status for w in store.workers()} == {"offline"}


async def test_request_bodies_are_bounded(serve):
    _, session = await serve("numbers.yaml")
    async with session.post("/api/pipelines/numbers/runs", data=b"x" * 70_000) as response:
        assert response.status == 413


async def test_the_pages_and_their_files_are_served(serve):
    _, session = await serve()
    async with session.get("/") as response:
        assert response.status == 200
        assert "<title>pipelines: runs</title>" in await response.text()
    async with session.get("/runs/abc") as response:
        assert "run.js" in await response.text()
    for name in ("app.css", "common.js", "index.js", "run.js"):
        async with session.get(f"/static/{name}") as response:
            assert response.status == 200, name
    async with session.get("/static/../api.py") as response:
        assert response.status in (403, 404)


async def test_stream_of_a_finished_run_is_its_final_snapshot_then_end(store, serve):
    (run_id,) = await record(store, spec())
    _, session = await serve()
    events = await read_events(session, run_id)
    assert [kind for kind, _ in events] == ["snapshot", "end"]
    assert events[0][1]["status"] == "completed" and events[0][1]["nodes"]["out"]["received"] == 4
    assert events[1][1] == {"id": run_id, "status": "completed"}


async def test_stream_of_a_live_run_sends_snapshots_while_it_runs_then_end(serve):
    _, session = await serve("slow.yaml")
    async with session.post("/api/pipelines/slow/runs") as response:
        run_id = (await response.json())["id"]
    events = await read_events(session, run_id)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and set(kinds[:-1]) == {"snapshot"}
    statuses = [data["status"] for kind, data in events if kind == "snapshot"]
    assert statuses[0] == "running" and statuses[-1] == "completed"
    assert set(statuses[:-1]) == {"running"}
    assert events[-2][1]["nodes"]["out"]["received"] == 100
    assert events[-1][1] == {"id": run_id, "status": "completed"}
    counts = [data["nodes"]["out"]["received"] for kind, data in events if kind == "snapshot"]
    assert counts == sorted(counts)  # figures only grow


async def test_event_streams_are_bounded(serve):
    _, session = await serve("endless.yaml", max_streams=1)
    async with session.post("/api/pipelines/endless/runs") as response:
        run_id = (await response.json())["id"]
    async with session.get(f"/api/runs/{run_id}/events") as first:
        assert first.headers["Content-Type"] == "text/event-stream"
        await first.content.readline()
        async with session.get(f"/api/runs/{run_id}/events") as second:
            assert (second.status, await second.json()) == (
                503,
                {"error": "1 event streams are open already"},
            )
    async with session.post(f"/api/runs/{run_id}/stop") as response:
        assert response.status == 202


async def read_events(session, run_id):
    """Every event of a run's stream, as (kind, data), until the server closes it."""
    events = []
    async with session.get(f"/api/runs/{run_id}/events") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        kind = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    return events


async def test_the_server_side_may_start_a_hosted_run_with_parameters(store, serve):
    server, session = await serve("numbers.yaml")
    run_id = await server.state.host.start(
        "numbers", parameters={"numbers.n": 3}, trigger="schedule"
    )
    run = await wait_status(session, run_id, {"completed"})
    assert (run["trigger"], run["parameters"], run["items_out"]) == (
        "schedule",
        {"numbers.n": 3},
        3,
    )
    assert run["spec"]["nodes"]["numbers"]["args"] == {"n": 3}
    with pytest.raises(ValueError, match=r"parameter 'nope\.n': no node named 'nope'"):
        await server.state.host.start("numbers", parameters={"nope.n": 1})


async def test_concurrent_starts_stay_within_the_limit(serve):
    _, session = await serve("endless.yaml", max_active=2)

    async def start():
        async with session.post("/api/pipelines/endless/runs") as response:
            return response.status, await response.json()

    answers = await asyncio.gather(*(start() for _ in range(5)))
    assert sorted(status for status, _ in answers) == [201, 201, 429, 429, 429]
    for status, body in answers:
        if status == 201:
            async with session.post(f"/api/runs/{body['id']}/stop") as response:
                assert response.status == 202
