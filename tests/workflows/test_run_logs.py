"""Run logs: records of get_run_logger() carry the run id and the node, in tasks and threads."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from pipelines import Plumber, get_run_logger

SPECS = Path(__file__).resolve().parent.parent / "specs"


async def test_records_carry_the_run_id_and_the_node(caplog):
    async def talk(x):
        get_run_logger().info("async %s", x)
        return x

    def thread(x):
        get_run_logger().warning("thread %s", x)
        return x

    spec = {
        "nodes": {
            "src": {"coro": [1, 2]},
            "talk": {"coro": talk, "concurrency": 2},
            "thread": {"coro": thread},
        },
        "graph": {"src": ["talk"], "talk": ["thread"], "thread": None},
    }
    plumber = Plumber(spec)
    with caplog.at_level(logging.INFO, logger="pipelines.run"):
        await plumber.run()
    records = [r for r in caplog.records if r.name == "pipelines.run"]
    assert sorted((r.node, r.getMessage()) for r in records) == [
        ("talk", "[talk] async 1"),
        ("talk", "[talk] async 2"),
        ("thread", "[thread] thread 1"),
        ("thread", "[thread] thread 2"),
    ]
    assert {r.run_id for r in records} == {plumber.run_id}
    assert len(plumber.run_id) == 12


async def test_each_run_has_its_own_id_and_events_carry_it():
    plumber = Plumber(
        {"nodes": {"src": {"coro": [1]}, "o": {"coro": print}}, "graph": {"src": ["o"], "o": None}}
    )
    ids = []
    plumber.subscribe(lambda e: ids.append(e.data["run_id"]) if e.kind == "run_started" else None)
    await plumber.run()
    first = plumber.run_id
    plumber.next_run_id = "chosen-id"
    await plumber.run()
    assert ids == [first, "chosen-id"] and first != "chosen-id"


def test_outside_a_run_records_have_no_run(caplog):
    with caplog.at_level(logging.INFO, logger="pipelines.run"):
        get_run_logger().info("loose")
    (record,) = caplog.records
    assert (record.run_id, record.node, record.getMessage()) == (None, None, "loose")


def test_the_command_shows_run_logs_at_info():
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "run", SPECS / "logs.yaml", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "info: [talk] got 1\n" in done.stderr and "info: [talk] got 2\n" in done.stderr
