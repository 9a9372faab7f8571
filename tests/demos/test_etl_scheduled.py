"""The scheduled ETL demo (demos/etl/etl_scheduled.yaml): the ETL's own nodes, on a schedule
under the real server, with retries and backoff on extract."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from pathlib import Path

import yaml

from pipelines.server import Server, load_hosted
from pipelines.spec.limits import WatchdogSpec
from pipelines.spec.schedule import ScheduleSpec
from pipelines.store import Store

ETL_DIR = Path(__file__).resolve().parents[2] / "demos" / "etl"
SCHEDULED = ETL_DIR / "etl_scheduled.yaml"


def test_the_scheduled_demo_reuses_the_etl_nodes_and_runs_every_ten_seconds():
    etl = yaml.safe_load((ETL_DIR / "etl.yaml").read_text())
    scheduled = yaml.safe_load(SCHEDULED.read_text())
    assert scheduled["graph"] == etl["graph"]
    assert scheduled["resources"] == etl["resources"]
    assert {name: node["coro"] for name, node in scheduled["nodes"].items()} == {
        name: node["coro"] for name, node in etl["nodes"].items()
    }
    (hosted,) = load_hosted([SCHEDULED])
    assert hosted.schedule == ScheduleSpec(
        interval=10.0, parameters={"load.db_path": "etl-scheduled.db"}
    )
    assert hosted.limits == WatchdogSpec(run_timeout=60.0, stall_timeout=30.0, late_after=30.0)
    extract = scheduled["nodes"]["extract"]
    assert (extract["retries"], extract["retry_delay"], extract["backoff"]) == (10, 0.02, 2)


async def test_the_scheduled_demo_loads_every_customer_on_each_scheduled_run(tmp_path):
    (hosted,) = load_hosted([SCHEDULED])
    db_path = tmp_path / "etl.db"
    # Every second instead of ten, into a file of the test's own: the same schedule otherwise.
    hosted.schedule = dataclasses.replace(
        hosted.schedule, interval=1.0, parameters={"load.db_path": str(db_path)}
    )
    with Store(tmp_path / "runs.db") as store:
        server = Server(store, [hosted], port=0, schedule_poll=0.1)
        await server.start()
        try:
            async with asyncio.timeout(30):
                while True:
                    runs = store.runs(pipeline="etl-scheduled", status="completed")
                    if runs:
                        break
                    await asyncio.sleep(0.05)
        finally:
            await server.stop(drain_timeout=5)
        run = store.run(runs[-1].id)
    assert (run.trigger, run.parameters) == ("schedule", {"load.db_path": str(db_path)})
    assert (run.nodes["load"].received, run.nodes["load"].emitted) == (40, 40)
    assert run.nodes["extract"].retried > 0  # the API failed 30% of requests: retried
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT COUNT(*) FROM customers").fetchone() == (40,)
