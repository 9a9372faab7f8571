"""Kill test: SIGKILL two of three worker processes mid-run; nothing is lost."""

from __future__ import annotations

import asyncio
import collections
import signal

import redis.asyncio as aioredis
from redis_runs import SPECS, spec_data
from worker_processes import WorkerProcesses

from pipelines import Plumber
from pipelines.runtime.distributed import list_workers
from pipelines.runtime.distributed.keys import Keys

ITEMS = 20_000


async def _wait_for_workers(client, names: set[str]) -> dict[str, str]:
    """Name -> instance of the live workers, once all of ``names`` heartbeat."""
    for _ in range(1000):
        live = {w["name"]: w["instance"] for w in await list_workers(client)}
        if names <= set(live):
            return live
        await asyncio.sleep(0.02)
    raise AssertionError(f"workers {names} never started")


def _lines(folder) -> list[str]:
    out: list[str] = []
    for path in folder.glob("*.ids"):
        out.extend(path.read_text().splitlines())
    return out


async def _pending(client, stream: str, consumer: str) -> list[bytes]:
    """The ids of the entries ``consumer`` holds (delivered, not acknowledged)."""
    rows = await client.xpending_range(stream, "g", "-", "+", 10_000, consumername=consumer)
    return [row["message_id"] for row in rows]


async def _items_in(client, stream: str, ids: list[bytes]) -> int:
    total = 0
    for entry_id in ids:
        for _, fields in await client.xrange(stream, entry_id, entry_id):
            total += int(fields.get(b"n", 0))
    return total


async def test_killing_two_workers_loses_nothing(redis_url, tmp_path, capsys):
    spec = SPECS / "kill.yaml"
    procs = WorkerProcesses(spec, redis_url, tmp_path)
    client = aioredis.Redis.from_url(redis_url)
    try:
        for name in ("w0", "w1", "w2"):
            procs.start(name)
        live = await _wait_for_workers(client, {"w0", "w1", "w2"})
        data = spec_data("kill.yaml", redis_url)
        data["nodes"]["sink"]["args"]["folder"] = str(tmp_path)  # args travel with the run
        run = Plumber(data, base_dir=SPECS)
        started: list[str] = []
        run.subscribe(
            lambda e: started.append(e.data["run_id"]) if e.kind == "run_started" else None
        )
        task = asyncio.create_task(run.run())
        while not started:
            await asyncio.sleep(0.005)
        run_id = started[0]
        keys = Keys().run(run_id)
        sink_stream = keys.stream("sink", 0)
        work_stream = keys.stream("work", 0)
        victims = {name: live[name] for name in ("w0", "w1")}

        # Mid-stream: a quarter of the items written, and both victims holding entries.
        while len(_lines(tmp_path)) < ITEMS // 4:
            assert not task.done(), task
            await asyncio.sleep(0.01)
        for _ in range(500):
            holding = {
                name: await _pending(client, sink_stream, f"{instance}/sink")
                + await _pending(client, work_stream, f"{instance}/work")
                for name, instance in victims.items()
            }
            if all(holding.values()):
                break
            await asyncio.sleep(0.002)
        for name in victims:
            procs.processes[name].send_signal(signal.SIGKILL)
        for name in victims:
            procs.processes[name].wait(10)
        written_at_kill = len(_lines(tmp_path))

        # What the dead held: their unacknowledged entries (nobody took them over yet).
        in_flight = {}
        for name, instance in victims.items():
            sink_ids = await _pending(client, sink_stream, f"{instance}/sink")
            work_ids = await _pending(client, work_stream, f"{instance}/work")
            in_flight[name] = {
                "sink entries": len(sink_ids),
                "sink items": await _items_in(client, sink_stream, sink_ids),
                "work entries": len(work_ids),
                "work items": await _items_in(client, work_stream, work_ids),
            }
        assert all(v["sink entries"] + v["work entries"] for v in in_flight.values()), in_flight
        procs.start("w3")  # the replacement

        result = await asyncio.wait_for(task, 60)
    finally:
        procs.kill_all()
        await client.aclose()

    assert result.status == "completed"
    lines = _lines(tmp_path)
    ids = collections.Counter(line.split()[0] for line in lines)
    values = {int(line.split()[1]) for line in lines}
    assert values == set(range(ITEMS))
    assert set(ids) == {f"{run_id}:{i}" for i in range(ITEMS)}
    duplicates = sum(count - 1 for count in ids.values())
    bound = sum(v["sink items"] for v in in_flight.values())
    assert duplicates <= bound
    assert result.stats["sink"].received == ITEMS  # counted once per item handed on
    with capsys.disabled():
        print(
            f"\nkill test: {ITEMS:,} items, 3 workers, killed w0 and w1 after {written_at_kill:,} "
            f"sink writes; in flight at the kill: {in_flight}; replacement w3 started; "
            f"sink wrote {len(lines):,} lines for {len(ids):,} distinct ids: {duplicates} "
            f"duplicates (bound: {bound}, the killed workers' in-flight sink items); "
            f"run {result.status} in {result.duration:.2f} s"
        )
