"""A run without workers says what it waits for, naming workers of another version of the spec."""

from __future__ import annotations

import asyncio
import logging

from redis_runs import SPECS, spec_data, workers

from pipelines.plan import make_plan
from pipelines.runtime.distributed import Coordinator
from pipelines.runtime.events import EventBus
from pipelines.testing import VirtualClock


async def test_waiting_for_workers_is_reported_with_the_other_versions(redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="pipelines")
    data = spec_data("chain.yaml", redis_url)
    plan = make_plan(data, base_dir=SPECS)
    clock = VirtualClock()
    coordinator = Coordinator(plan, data, {}, EventBus(), clock=clock)
    # A worker of another version of the file (another batch size): not for this run.
    async with workers("chain.yaml", redis_url, 1, transport={"batch_size": 7}):
        task = asyncio.create_task(coordinator.run())
        while coordinator.snapshot is None:
            await asyncio.sleep(0.01)
        await clock.advance(6.0)  # past the grace period: the coordinator warns once
        for _ in range(100):
            if caplog.records:
                break
            await asyncio.sleep(0.01)
        coordinator.request_stop(drain=False)
        result = await task
    assert result.status == "stopped"
    (record,) = [r for r in caplog.records if "waits for workers" in r.getMessage()]
    message = record.getMessage()
    assert "no worker serves double, inc, label, explode, out yet" in message
    assert "live workers of another version of this spec" in message
    assert "w0 (spec " in message and coordinator.fingerprint in message
