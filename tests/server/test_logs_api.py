"""``GET /api/runs/{id}/logs``: a run's saved log records, read on by record number."""

from __future__ import annotations

import asyncio
import re

from pipelines import Plumber, get_run_logger
from pipelines.store import Recorder

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def numbers():
    for i in range(1, 4):
        yield i


async def talk(x):
    get_run_logger().info("item %s", x)
    if x == 3:
        get_run_logger().error("<script>alert(%s)</script>", x)
    return x


async def record(store):
    spec = {
        "name": "talky",
        "nodes": {"numbers": {"coro": numbers}, "talk": {"coro": talk}},
        "graph": {"numbers": ["talk"], "talk": None},
    }
    with Recorder(store, keep=0) as recorder:
        plumber = Plumber(spec)
        recording = recorder.record(plumber)
        await plumber.run()
    return recording.id


async def test_a_run_s_records_in_the_contract_form(store, serve):
    run_id = await record(store)
    _, session = await serve()
    async with session.get(f"/api/runs/{run_id}/logs") as response:
        assert response.status == 200
        data = await response.json()
    assert [(r["seq"], r["level"], r["node"], r["message"]) for r in data["logs"]] == [
        (1, "INFO", "talk", "item 1"),
        (2, "INFO", "talk", "item 2"),
        (3, "INFO", "talk", "item 3"),
        (4, "ERROR", "talk", "<script>alert(3)</script>"),
    ]
    assert all(ISO.fullmatch(r["time"]) for r in data["logs"])
    assert (data["run_id"], data["dropped"], data["truncated"], data["limit"]) == (
        run_id,
        0,
        0,
        1000,
    )
    async with session.get(f"/api/runs/{run_id}/logs?after=2&limit=1") as response:
        assert [r["seq"] for r in (await response.json())["logs"]] == [3]


async def test_unknown_runs_and_bad_queries_are_json_errors(store, serve):
    run_id = await record(store)
    _, session = await serve()
    async with session.get("/api/runs/000000000000/logs") as response:
        assert (response.status, await response.json()) == (
            404,
            {"error": "no run '000000000000'"},
        )
    for query, message in (
        ("after=-1", "after must be a record number (0 or more)"),
        ("after=x", "after must be a record number (0 or more)"),
        ("limit=0", "limit must be a whole number from 1 to 1000"),
    ):
        async with session.get(f"/api/runs/{run_id}/logs?{query}") as response:
            assert (response.status, await response.json()) == (400, {"error": message})


async def test_with_a_token_reading_logs_needs_it(store, serve):
    run_id = await record(store)
    token = "a-long-enough-token-123"
    _, session = await serve(token=token)
    async with session.get(f"/api/runs/{run_id}/logs") as response:
        assert response.status == 401
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"/api/runs/{run_id}/logs", headers=headers) as response:
        assert response.status == 200
        assert len((await response.json())["logs"]) == 4


async def test_a_hosted_run_s_records_arrive_while_it_runs(serve):
    _, session = await serve("talking.yaml")
    async with session.post("/api/pipelines/talking/runs") as response:
        run_id = (await response.json())["id"]
    seen: list[dict] = []
    for _ in range(200):  # records are written every 0.5 s: poll until two batches came
        async with session.get(f"/api/runs/{run_id}/logs?after={len(seen)}") as response:
            seen += (await response.json())["logs"]
        if len(seen) >= 12:
            break
        await asyncio.sleep(0.05)
    assert [r["seq"] for r in seen] == list(range(1, len(seen) + 1))
    assert seen[:5] == [
        {**seen[i], "node": "say", "message": m, "level": level}
        for i, (level, m) in enumerate(
            [
                ("INFO", "tick 1"),
                ("INFO", "tick 2"),
                ("INFO", "tick 3"),
                ("INFO", "tick 4"),
                ("WARNING", "tick 5 <b>is</b> a fifth"),
            ]
        )
    ]
    async with session.get(f"/api/runs/{run_id}") as response:
        assert (await response.json())["status"] == "running"
    async with session.post(f"/api/runs/{run_id}/stop") as response:
        assert response.status == 202
