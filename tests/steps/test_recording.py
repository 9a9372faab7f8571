"""A steps pipeline with a store: a run per ``run``, a node per step, the worker as a worker,
its run logs; wpipe's worker calls with and without a store."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from pipelines import get_run_logger
from pipelines.steps import Pipeline
from pipelines.store import Store


def fetch(data):
    get_run_logger().info("fetching %s", data["order"])
    return {"amount": 30}


async def tax(data):
    get_run_logger().warning("tax on %s", data["amount"])
    return {"tax": data["amount"] // 10}


def slow(data):
    time.sleep(0.05)
    return {"slow": True}


def steps():
    return [(fetch, "Fetch", "v1"), (tax, "Tax", "v2"), (slow, "Slow", "v1")]


def read(path):
    with Store(path) as store:
        runs = store.runs()
        return runs, [store.run(r.id) for r in runs], store.workers()


def test_each_run_is_recorded_with_a_node_per_step_and_a_default_worker(tmp_path):
    path = tmp_path / "runs.db"
    with Pipeline(store=path) as pipeline:
        pipeline.set_steps(steps())
        pipeline.run({"order": 1})
        first = pipeline.last_run_id
        pipeline.run({"order": 2})
        second = pipeline.last_run_id
    runs, details, workers = read(path)
    assert [r.id for r in runs] == [second, first]
    (worker,) = workers
    assert (worker.name, worker.kind, worker.status) == (
        f"{socket.gethostname()}:{os.getpid()}",
        "python",
        "offline",  # closed: offline at once
    )
    for run, detail in zip(runs, details, strict=True):
        assert (run.pipeline, run.status, run.trigger, run.worker) == (
            "steps",
            "completed",
            "python",
            worker.name,
        )
        assert (run.items_in, run.items_out) == (1, 1)
        assert [
            (name, n.kind, n.state, n.received, n.emitted) for name, n in detail.nodes.items()
        ] == [
            ("Fetch", "source", "done", 0, 1),
            ("Tax", "transform", "done", 1, 1),
            ("Slow", "sink", "done", 1, 1),
        ]
        assert [(e.source, e.target) for e in detail.edges] == [("Fetch", "Tax"), ("Tax", "Slow")]
        assert detail.spec["steps"] == [
            {"name": "Fetch", "version": "v1", "function": "fetch", "node": "Fetch"},
            {"name": "Tax", "version": "v2", "function": "tax", "node": "Tax"},
            {"name": "Slow", "version": "v1", "function": "slow", "node": "Slow"},
        ]
        # Each step's call time is its node's busy time and latency.
        slow_node = detail.nodes["Slow"]
        assert slow_node.busy >= 0.05
        assert slow_node.busy == slow_node.latency_p50 == slow_node.latency_max


def test_run_logs_of_the_steps_are_saved_under_the_step_names(tmp_path):
    path = tmp_path / "runs.db"
    with Pipeline(store=path, name="orders") as pipeline:
        pipeline.set_steps(steps())
        pipeline.run({"order": 7})
        run_id = pipeline.last_run_id
    with Store(path) as store:
        assert store.run(run_id).pipeline == "orders"
        assert [(e.node, e.level, e.message) for e in store.logs(run_id).entries] == [
            ("Fetch", "INFO", "fetching 7"),
            ("Tax", "WARNING", "tax on 30"),
        ]


async def test_a_cancelled_run_is_recorded_as_stopped(tmp_path):
    started = asyncio.Event()

    async def forever(data):
        started.set()
        await asyncio.Event().wait()

    with Pipeline(store=tmp_path / "runs.db") as pipeline:
        pipeline.set_steps([(forever, "forever", "v1")])
        task = asyncio.ensure_future(pipeline.run({}))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        run_id = pipeline.last_run_id
    with Store(tmp_path / "runs.db") as store:
        assert store.run(run_id).status == "stopped"


def test_a_store_given_as_an_object_stays_open_one_opened_from_a_path_is_closed(tmp_path):
    with Store(tmp_path / "given.db") as store:
        pipeline = Pipeline(store=store).set_steps([fetch])
        pipeline.run({"order": 1})
        pipeline.close()
        assert len(store.runs()) == 1  # still usable
    owned = Pipeline(store=tmp_path / "owned.db")
    owned.close()
    assert owned.store is not None
    with pytest.raises(Exception, match="is closed"):
        owned.store.runs()


def test_a_closed_pipeline_with_a_store_refuses_to_run_or_beat(tmp_path):
    pipeline = Pipeline(store=tmp_path / "runs.db").set_steps([fetch])
    worker = pipeline.worker_register(name="w", version="1")
    pipeline.close()
    with pytest.raises(RuntimeError, match="this steps Pipeline is closed"):
        pipeline.run({"order": 1})
    with pytest.raises(RuntimeError, match="this steps Pipeline is closed"):
        pipeline.healthcheck_worker(worker)


def test_the_steps_run_shows_in_pipelines_runs_and_runs_show(tmp_path):
    path = tmp_path / "runs.db"
    with Pipeline(store=path) as pipeline:
        pipeline.set_steps(steps())
        pipeline.worker_register(name="facturas", version="v3")
        pipeline.run({"order": 1})
        run_id = pipeline.last_run_id

    def command(*args):
        done = subprocess.run(
            [sys.executable, "-m", "pipelines", "runs", *args, "--store", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    (listed,) = json.loads(command("--json"))["runs"]
    assert (listed["id"], listed["pipeline"], listed["worker"], listed["version"]) == (
        run_id,
        "facturas",
        "facturas",
        "v3",
    )
    shown = json.loads(command("show", run_id, "--json"))
    assert list(shown["nodes"]) == ["Fetch", "Tax", "Slow"]
    assert "Fetch" in command("show", run_id[:6])
    logs = json.loads(command("logs", run_id, "--json"))
    assert [r["message"] for r in logs["logs"]] == ["fetching 1", "tax on 30"]


# -- wpipe's worker calls ----------------------------------------------------------------


def test_without_a_store_the_worker_calls_keep_wpipe_s_shapes():
    pipeline = Pipeline().set_steps([(fetch, "Fetch", "v1")])
    assert pipeline.worker_id is None
    worker = pipeline.worker_register(name="microservicio_1", version="v1.0")
    assert worker == {
        "id": worker["id"],
        "name": "microservicio_1",
        "version": "v1.0",
        "tasks": [{"name": "Fetch", "version": "v1"}],
    }
    assert len(worker["id"]) == 32
    assert pipeline.worker_id == worker["id"]
    assert pipeline.set_worker_id(worker) is pipeline  # the dict, as the old README passes it
    pipeline.set_worker_id(worker.get("id"))  # its id, as later examples do
    beat = pipeline.healthcheck_worker(worker)
    assert {k: beat[k] for k in ("id", "name", "version", "status")} == {
        "id": worker["id"],
        "name": "microservicio_1",
        "version": "v1.0",
        "status": "online",
    }
    assert beat["last_heartbeat"].endswith("Z")
    assert pipeline.run({"order": 1})["amount"] == 30
    pipeline.set_worker_id("a-saved-id")  # without a store any id will do
    assert pipeline.healthcheck_worker()["id"] == "a-saved-id"


def test_bad_worker_ids_are_clear_errors(tmp_path):
    with Pipeline(store=tmp_path / "runs.db") as pipeline:
        with pytest.raises(ValueError, match="no worker 'nope' in the run store"):
            pipeline.set_worker_id("nope")
        with pytest.raises(ValueError, match="worker 'nope' is not registered here"):
            pipeline.healthcheck_worker("nope")
        for bad in (None, 42, {"name": "x"}, ""):
            with pytest.raises(TypeError, match="a worker is the dict worker_register"):
                pipeline.set_worker_id(bad)
        with pytest.raises(TypeError, match="a worker's name is a non-empty string"):
            pipeline.worker_register(name="", version="v1")


def test_a_healthcheck_is_a_heartbeat_in_the_store(tmp_path):
    path = tmp_path / "runs.db"
    with Pipeline(store=path) as pipeline:
        worker = pipeline.worker_register(name="w", version="1")
        with Store(path) as store:
            before = store.worker(worker["id"]).last_heartbeat
            beat = pipeline.healthcheck_worker(worker["id"])
            after = store.worker(worker["id"])
        assert after.last_heartbeat > before
        assert (beat["status"], after.status) == ("online", "online")
