"""A recording ``pipelines run`` killed with SIGKILL: its run becomes crashed, its worker offline.

The documented rule (docs/store.md): a worker that missed 3 heartbeats in a
row is offline, and its running runs are crashed, as soon as anything reads
the store or another worker beats. The process here beats every 0.2 s
(``PIPELINES_HEARTBEAT``), so 0.6 s after its last heartbeat, which came
before the kill, the store must say so.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from cli_harness import start

from pipelines.store import Store

SPECS = Path(__file__).resolve().parent.parent / "specs"
PERIOD = 0.2


def test_a_killed_run_is_crashed_and_its_worker_offline_after_three_heartbeats(
    pipelines_home,
):
    proc = start("run", SPECS / "endless.yaml", env={"PIPELINES_HEARTBEAT": str(PERIOD)})
    try:
        first = proc.stdout.readline()
        assert first.startswith("run "), first + proc.stderr.read()
        run_id = first.split()[1]
        assert proc.stderr.readline() == "tick 0\n"  # it is running
        store = Store(pipelines_home / "pipelines.db")
        run = store.run(run_id)
        assert run.status == "running"
        assert store.worker(run.worker_id).status == "online"
        assert store.worker(run.worker_id).heartbeat_period == PERIOD
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    killed = time.time()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(3 * PERIOD + 0.1)  # the documented time: 3 missed heartbeats
    reaped = store.reap()
    assert reaped.runs == [run_id]
    run = store.run(run_id)
    worker = store.worker(run.worker_id)
    assert (run.status, worker.status) == ("crashed", "offline")
    assert run.noticed_at >= killed and worker.offline_at == run.noticed_at
    assert run.ended_at <= killed  # the last moment it was known alive
    store.close()
