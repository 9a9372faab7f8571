"""The commands, run for real: ``pipelines worker``, ``pipelines workers``, ``pipelines run --redis``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
from redis_runs import SPECS
from worker_processes import REPO, WorkerProcesses

ENV = dict(os.environ, PYTHONPATH=str(REPO))


def pipelines(*args: object, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def _wait_listed(url: str, name: str) -> None:
    """Wait for the worker's heartbeat (read directly: a command per poll would be slow)."""
    with redis.Redis.from_url(url) as client:
        for _ in range(500):
            for key in client.scan_iter(match="pipelines:worker:*"):
                beat = client.get(key)
                if beat and json.loads(beat)["name"] == name:
                    return
            time.sleep(0.02)
    raise AssertionError(f"worker {name} never heartbeat")


@pytest.fixture
def procs(redis_url, tmp_path):
    started: list[WorkerProcesses] = []

    def make(spec: str) -> WorkerProcesses:
        group = WorkerProcesses(SPECS / spec, redis_url, tmp_path)
        started.append(group)
        return group

    yield make
    for group in started:
        group.kill_all()


def _figures(data: dict) -> dict:
    return {
        node: {
            k: v
            for k, v in stats.items()
            # Timings differ by nature; sampled latency is recorded locally only.
            if k not in ("duration", "peak_depth", "peak_in_flight", "busy")
            and not k.startswith("latency_")
        }
        for node, stats in data["stats"].items()
    }


def test_run_with_redis_gives_the_result_of_a_local_run(redis_url, procs):
    procs("chain.yaml").start("cli-w")
    _wait_listed(redis_url, "cli-w")
    remote = pipelines("run", SPECS / "chain.yaml", "--redis", redis_url, "--json")
    local = pipelines("run", SPECS / "chain.yaml", "--json")
    assert (remote.returncode, local.returncode) == (0, 0), remote.stderr
    remote_data, local_data = json.loads(remote.stdout), json.loads(local.stdout)
    assert remote_data["status"] == "completed"
    assert remote_data["outputs"] == local_data["outputs"]
    assert _figures(remote_data) == _figures(local_data)
    table = pipelines("run", SPECS / "chain.yaml", "--redis", redis_url, "--set", "numbers.n=30")
    assert table.returncode == 0, table.stderr
    # The summary table's rows (the first line names the recorded run).
    names = set(remote_data["stats"])
    rows: dict[str, list[str]] = {}
    for line in table.stdout.splitlines():
        words = line.split()
        if words and words[0] in names and words[0] not in rows:
            rows[words[0]] = words[3:5]
    assert rows["numbers"] == ["0", "30"] and rows["out"] == ["60", "60"]


def test_a_failing_node_fails_the_command_as_locally(redis_url, procs):
    procs("failing.yaml").start("cli-w")
    _wait_listed(redis_url, "cli-w")
    remote = pipelines("run", SPECS / "failing.yaml", "--redis", redis_url)
    local = pipelines("run", SPECS / "failing.yaml")
    assert remote.returncode == local.returncode == 1
    line = "error: node 'check' failed on item 13: ValueError: 13 is bad"
    assert line in remote.stderr and line in local.stderr
    assert "Traceback" not in remote.stderr


def test_workers_lists_live_workers_and_a_stopped_worker_leaves(redis_url, procs):
    group = procs("chain.yaml")
    worker = group.start("cli-w", "--nodes", "double,out")
    _wait_listed(redis_url, "cli-w")
    (entry,) = json.loads(pipelines("workers", "--redis", redis_url, "--json").stdout)
    assert entry["nodes"] == ["double", "out"] and entry["spec"] == "chain"
    assert entry["pid"] == worker.pid and entry["runs"] == []
    table = pipelines("workers", "--redis", redis_url)
    assert "cli-w" in table.stdout and "double, out" in table.stdout
    worker.send_signal(signal.SIGINT)
    assert worker.wait(10) == 0
    assert "stopping: finishing the batches in hand" in group.log("cli-w")
    assert pipelines("workers", "--redis", redis_url).stdout.strip() == "no live worker"


def test_worker_usage_errors_exit_2(redis_url):
    unknown = pipelines("worker", SPECS / "chain.yaml", "--redis", redis_url, "--nodes", "nope")
    assert unknown.returncode == 2
    assert (
        "no node named 'nope' (nodes: numbers, double, inc, label, explode, out)" in unknown.stderr
    )
    source = pipelines("worker", SPECS / "chain.yaml", "--redis", redis_url, "--nodes", "numbers")
    assert source.returncode == 2 and "sources run where the run starts" in source.stderr
    no_url = subprocess.run(
        [sys.executable, "-m", "pipelines", "worker", str(SPECS / "chain.yaml")],
        capture_output=True,
        text=True,
        env={k: v for k, v in ENV.items() if k != "PIPELINES_REDIS"},
        timeout=30,
    )
    assert no_url.returncode == 2 and "no Redis URL" in no_url.stderr
    invalid = pipelines("worker", SPECS / "chain.yaml", "--redis", "http://x")
    assert invalid.returncode == 2 and "not a Redis URL" in invalid.stderr


def test_ctrl_c_drains_a_distributed_run(redis_url, procs):
    procs("endless.yaml").start("cli-w")
    _wait_listed(redis_url, "cli-w")
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines",
            "run",
            str(SPECS / "endless.yaml"),
            "--redis",
            redis_url,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        time.sleep(2.0)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 130, err
    data = json.loads(out)
    produced = data["stats"]["ticks"]["emitted"]
    assert data["status"] == "stopped" and produced > 0
    assert data["outputs"]["out"] == [2 * i for i in range(produced)]
