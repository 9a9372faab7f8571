"""One worker's part in one run: the plan with the run's args, a replica per node it serves.

A worker loads its own spec file; a run sends only data (the nodes' args,
the env), so the functions it calls are always the ones its spec names,
resolved from its own files. For each node it serves (sources run where the
run starts), :class:`RunServer` builds the engine's node state (the
Processor its functions may want, the executor of plain ``def`` functions, a
collector for dead letters) and runs a :class:`~.replica.Replica`. Meanwhile
it reports failures as events and watches the run: when it is no longer
running (done, failed, stopped) or its coordinator's heartbeat expired, the
replicas stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ...errors import PipelineError, SpecError
from ...plan import Plan
from ..events import Event, EventBus
from ..executors import close_executors, make_executors
from ..link import Link
from ..node import Node
from ..processor import Processor
from ..stall import Board
from .codec import JsonCodec
from .context import ContextThreadPool
from .keys import Keys, RunKeys
from .lifetime import delete_run
from .replica import Replica
from .runctx import RunContext, RunGone
from .topology import Topology

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ["RunServer"]

log = logging.getLogger("pipelines")


class RunServer:
    """A worker's replicas of one run."""

    def __init__(self, worker: Worker, run_id: str) -> None:
        self.worker = worker
        self.run_id = run_id
        self.keys: RunKeys = Keys().run(run_id)
        self.replicas: list[Replica] = []

    def leave(self) -> None:
        """The worker drains: each replica finishes the entry in hand, then stops."""
        for replica in self.replicas:
            replica.leaving = True

    async def run(self) -> None:
        """Serve the run until it ends (or the worker leaves); report a failure of ours."""
        worker = self.worker
        client = worker.redis.client
        meta = await client.hgetall(self.keys.meta)
        if (
            meta.get(b"status") != b"running"
            or meta.get(b"fingerprint") != worker.fingerprint.encode()
        ):
            return
        try:
            args, env = JsonCodec().loads_many(meta[b"params"])
            plan = worker.plan_for(args)
        except (SpecError, ValueError, KeyError) as exc:
            await self._report(worker.served[0] if worker.served else "?", None, exc, 1)
            return
        served = [name for name in worker.served if not plan.nodes[name].is_source]
        if not served:
            return
        ctx = RunContext(
            redis=worker.redis,
            keys=self.keys,
            plan=plan,
            topology=Topology(plan),
            transport=worker.transport,
            codec=worker.codec,
            clock=worker.clock,
            instance=worker.instance,
            heartbeat=worker.heartbeat_key,
        )
        nodes = _build(ctx, plan, served, dict(env) if isinstance(env, Mapping) else {})
        executors = make_executors(nodes)
        for node in nodes:
            offload = node.offload
            if offload is not None and isinstance(offload.executor, ThreadPoolExecutor):
                # Calls in threads see the id of the item they process (context.py).
                offload.executor = ContextThreadPool(offload.executor)
        self.replicas = [Replica(ctx, node) for node in nodes]
        if worker.stopping:
            self.leave()
        log.info(
            "pipelines: worker %s serves run %s: %s", worker.name, self.run_id, ", ".join(served)
        )
        clean = False
        try:
            await self._serve(ctx)
            clean = True
        except* RunGone:
            log.info("pipelines: run %s ended", self.run_id)
        except* PipelineError as group:
            failure = _leaf(group)
            assert isinstance(failure, PipelineError)
            cause = failure.__cause__ or failure
            await self._report(failure.node, failure.item, cause, failure.attempts)
        except* Exception as group:
            error = _leaf(group)
            log.error(
                "pipelines: worker %s failed in run %s", worker.name, self.run_id, exc_info=error
            )
            await self._report(served[0], None, error, 1)
        finally:
            await close_executors(nodes, executors, clean)

    async def _serve(self, ctx: RunContext) -> None:
        async with asyncio.TaskGroup() as tg:
            watcher = tg.create_task(self._watch(ctx))
            try:
                async with asyncio.TaskGroup() as replicas:
                    for replica in self.replicas:
                        task = replicas.create_task(
                            replica.run(), name=f"pipelines:{replica.consumer}"
                        )
                        task.add_done_callback(self._on_replica_done)
            finally:
                watcher.cancel()
            with contextlib.suppress(Exception):
                await ctx.flush_events()

    def _on_replica_done(self, task: asyncio.Task[None]) -> None:
        # One replica failed (or saw the run end): the others stop too, even if
        # a cancellation were lost on the way (their loops check the flag).
        if task.cancelled() or task.exception() is not None:
            self.halt()

    def halt(self) -> None:
        """The run is over for this worker: every replica stops at once."""
        for replica in self.replicas:
            replica.halted = True

    async def _watch(self, ctx: RunContext) -> None:
        """Flush events; stop the replicas when the run is over or orphaned."""
        client = ctx.redis.client
        while True:
            await ctx.clock.sleep(min(0.5, ctx.transport.heartbeat))
            await ctx.flush_events()
            pipe = client.pipeline(transaction=False)
            pipe.hget(self.keys.meta, "status")
            pipe.exists(self.keys.alive)
            status, alive = await pipe.execute()
            if status != b"running":
                self.halt()
                raise RunGone(self.run_id)
            if not alive:
                log.warning(
                    "pipelines: the coordinator of run %s stopped heartbeating: dropping the run",
                    self.run_id,
                )
                self.halt()
                await delete_run(client, self.keys, self.worker.fingerprint)
                raise RunGone(self.run_id)

    async def _report(
        self, node: str, item: str | None, cause: BaseException, attempts: int
    ) -> None:
        error = {
            "node": node,
            "item": item,
            "type": getattr(cause, "type_name", type(cause).__name__),
            "message": str(cause),
            "attempts": attempts,
            "worker": self.worker.name,
        }
        log.error(
            "pipelines: run %s failed on worker %s: node %r: %s",
            self.run_id,
            self.worker.name,
            node,
            cause,
        )
        with contextlib.suppress(Exception):
            await self.worker.redis.fail(
                keys=[self.keys.meta], args=[json.dumps(error, default=str)]
            )


def _leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first exception of a (nested) group."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


def _build(ctx: RunContext, plan: Plan, served: list[str], env: dict[str, Any]) -> list[Node]:
    """The engine's state of each served node (no local links: Redis is the link)."""
    events = EventBus()
    worker = ctx.instance

    def forward(event: Event) -> None:
        if event.kind == "node_failed" and event.node is not None:
            error = event.data.get("error")
            ctx.queue_event(
                "node_failed",
                event.node,
                type=getattr(error, "type_name", type(error).__name__),
                message=str(error),
                item=event.data.get("item"),
                attempts=event.data.get("attempts"),
                action=event.data.get("action"),
                worker=worker,
            )

    events.subscribe(forward)
    board = Board(alive=2**62)  # stalls across workers are not detected (docs/distributed.md)
    nodes: list[Node] = []
    for name in served:
        spec = plan.nodes[name]
        node = Node(spec, env, events)
        # Placeholders: the calling conventions look at how many inputs are zipped.
        inputs = [Link(f"{name}:{i}", 1) for i in range(len(ctx.topology.inputs[name]))]
        dead = Link(f"{name}:dead letters", 2**62) if spec.dead_letter else None
        node.wire(inputs, [], dead, board)
        Processor(node)
        nodes.append(node)
    return nodes
