"""The same specs give the same results on Redis (1 and 3 workers) as in one process."""

from __future__ import annotations

import pytest
from redis_runs import SPECS, run_on

from pipelines import PipelineError, Plumber, RemoteError

COUNTERS = ("received", "emitted", "failed", "retried", "dropped")


async def _local(name: str):
    plumber = Plumber.from_file(SPECS / name)
    try:
        return await plumber.run()
    except PipelineError as exc:
        return exc


def _counters(result) -> dict[str, tuple[int, ...]]:
    return {
        node: tuple(getattr(stats, c) for c in COUNTERS) for node, stats in result.stats.items()
    }


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("name", ["chain.yaml", "fanout.yaml", "zip.yaml", "deadletter.yaml"])
async def test_outputs_and_counters_match_a_local_run(redis_url, name, workers):
    local = await _local(name)
    remote = await run_on(name, redis_url, workers)
    assert remote.status == "completed"
    assert remote.outputs == local.outputs  # in sequence order: the order of a local run
    assert _counters(remote) == _counters(local)
    assert set(remote.stats) == set(local.stats)


@pytest.mark.parametrize("workers", [1, 3])
async def test_a_merge_gives_the_same_items(redis_url, workers):
    local = await _local("merge.yaml")
    remote = await run_on("merge.yaml", redis_url, workers)
    assert remote.status == "completed"
    # Arrival order is not deterministic, even in one process: compare the items.
    assert sorted(remote.outputs["out"]) == sorted(local.outputs["out"])
    assert len(remote.outputs["out"]) == 700
    assert _counters(remote) == _counters(local)


async def test_the_dead_letter_records_read_as_in_one_process(redis_url):
    remote = await run_on("deadletter.yaml", redis_url, 3)
    rejects = remote.outputs["rejects"]
    assert rejects[:2] == [
        "check: 7 (ValueError: 7 is a multiple of 7) x2",
        "check: 14 (ValueError: 14 is a multiple of 7) x2",
    ]
    assert len(rejects) == len([x for x in range(1, 500) if x % 7 == 0])


async def test_the_zip_of_unequal_inputs_drops_the_rest(redis_url):
    remote = await run_on("zip.yaml", redis_url, 3)
    assert remote.outputs["pair2"] == [(i, i) for i in range(250)]
    assert remote.stats["pair2"].dropped == 350
    assert remote.outputs["pair"] == [(2 * i, f"#{i}") for i in range(600)]


@pytest.mark.parametrize("workers", [1, 3])
async def test_a_failing_node_fails_the_run_with_the_same_error(redis_url, workers):
    local = await _local("failing.yaml")
    remote = await run_on("failing.yaml", redis_url, workers)
    assert isinstance(local, PipelineError) and isinstance(remote, PipelineError)
    assert (remote.node, remote.item, remote.attempts) == ("check", "13", 1)
    assert (remote.node, remote.item, remote.attempts) == (local.node, local.item, local.attempts)
    assert str(remote) == str(local) == "node 'check' failed on item 13: ValueError: 13 is bad"
    cause = remote.__cause__
    assert isinstance(cause, RemoteError) and isinstance(cause, ValueError)
    assert type(cause).__name__ == "ValueError" and str(cause) == "13 is bad"
    assert remote.result.status == "failed"
    assert set(remote.result.stats) == {"numbers", "check", "out"}
