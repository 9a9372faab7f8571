"""A run's life in Redis: created by its coordinator, deleted when it ends.

:func:`create_run` writes, in one transaction, the run's meta (status, the
spec's fingerprint, the nodes' args and the env as JSON data), its
coordinator's heartbeat, a stream and consumer group per link, the source
replicas, and announces the run to the spec's workers. :func:`delete_run`
removes it from the active runs and deletes every key of the run (the
coordinator at the end, or a worker that found the coordinator gone).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import Any

from .codec import JsonCodec
from .keys import Keys, RunKeys
from .runctx import GROUP, RunContext, now_ms

__all__ = ["create_run", "delete_run"]


async def create_run(
    ctx: RunContext,
    fingerprint: str,
    env: dict[str, Any],
    sources: Iterable[str],
) -> None:
    """Create the run's keys and announce it to the workers of ``fingerprint``."""
    keys = ctx.keys
    glob = Keys()
    plan = ctx.plan
    # The workers get the run's args (``--set`` included) and env as json
    # data, whatever the serializer: nothing in them can run code.
    args = {name: spec.args for name, spec in plan.nodes.items()}
    params = JsonCodec().dumps_many([args, env])
    pipe = ctx.redis.client.pipeline(transaction=True)
    pipe.hset(
        keys.meta,
        mapping={
            "status": "running",
            "fingerprint": fingerprint,
            "spec": plan.spec.name or plan.spec.source or "",
            "params": params,
            "created": now_ms(),
            "coordinator": f"{socket.gethostname()}:{os.getpid()}",
        },
    )
    pipe.set(keys.alive, ctx.instance, px=int(ctx.transport.ttl * 1000))
    for link in ctx.topology.links():
        pipe.xgroup_create(keys.stream(link.consumer, link.index), GROUP, id="0", mkstream=True)
    for name in sources:  # a source's one replica lives as long as the coordinator
        pipe.hset(keys.replicas(name), ctx.consumer(name), keys.alive)
    pipe.sadd(glob.active(fingerprint), keys.run_id)
    pipe.xadd(glob.announce(fingerprint), {"run": keys.run_id}, maxlen=100, approximate=True)
    await pipe.execute()


async def delete_run(client: Any, keys: RunKeys, fingerprint: str) -> None:
    """Take the run off the active runs and delete every key of it."""
    await client.srem(Keys().active(fingerprint), keys.run_id)
    batch: list[str] = []
    async for key in client.scan_iter(match=keys.pattern, count=500):
        batch.append(key)
        if len(batch) >= 500:
            await client.unlink(*batch)
            batch = []
    if batch:
        await client.unlink(*batch)
