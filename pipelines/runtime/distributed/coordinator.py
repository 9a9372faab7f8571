"""The owner of a distributed run: starts it, runs its sources, waits for the workers.

``Plumber.run()`` hands a spec with a Redis URL (``transport.redis``, or the
command's ``--redis``) to a :class:`Coordinator`. It creates the run in
Redis (a stream and a consumer group per link, the run's args and env for
the workers, its heartbeat), announces it to the workers of the spec, runs
the sources here with the engine's own source code, follows the workers
(:class:`~.monitor.Monitor`), and returns the same :class:`RunResult` a run
in one process returns, with the same events on the way. A failing node
fails the run with the same ``PipelineError`` fields (its cause a
:class:`~pipelines.errors.RemoteError` named like the original). At the end
every key of the run is deleted.

``request_stop(drain=True)`` stops the sources; what they produced flows to
the sinks across the workers, then the run ends ``stopped``.
``drain=False`` ends the run at once: workers drop what they hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from redis.exceptions import RedisError

from ...errors import PipelineError, remote_error
from ...plan import Plan
from ...spec.transport import TransportSpec, spec_fingerprint
from ..clock import SYSTEM_CLOCK, Clock
from ..events import EventBus
from ..executors import close_executors, make_executors
from ..lifecycle import run_node
from ..monitor import first_in_group
from ..node import Node
from ..sources import request_stop
from ..stats import NodeStats, RunResult
from .codec import make_codec
from .connection import connect, reachable, redact
from .heartbeat import list_workers
from .keys import Keys
from .lifetime import create_run, delete_run
from .monitor import Monitor, Snapshot
from .runctx import RunContext, now_ms
from .senders import Sender, build_sources
from .topology import Topology

__all__ = ["WORKER_GRACE", "Coordinator"]

log = logging.getLogger("pipelines")

#: Seconds without any replica of a node before the run says it waits for workers.
WORKER_GRACE = 5.0
_POLL_MS = 100


class Coordinator:
    """Runs a plan across workers, its links on Redis Streams."""

    def __init__(
        self,
        plan: Plan,
        raw_spec: Mapping[str, Any],
        env_vars: dict[str, Any],
        events: EventBus,
        *,
        stats_interval: float = 0.5,
        clock: Clock = SYSTEM_CLOCK,
        run_id: str | None = None,
    ) -> None:
        transport = plan.spec.transport
        if transport is None or not transport.redis:
            raise ValueError("a distributed run needs transport.redis (or the command's --redis)")
        self.plan = plan
        self.transport: TransportSpec = transport
        self.url: str = transport.redis
        self.fingerprint = spec_fingerprint(raw_spec)
        self.env_vars = env_vars
        self.events = events
        self.stats_interval = stats_interval
        self.clock = clock
        # The Plumber's run id, so the run store, events and logs share it.
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.topology = Topology(plan)
        self.stop_mode: str | None = None
        self.sources: list[tuple[Node, list[Sender]]] = []
        self.snapshot: Snapshot | None = None
        self.monitor: Monitor | None = None
        self.started = time.monotonic()
        self._tasks: list[asyncio.Task[Any]] = []
        self._cancelled = False

    # -- stopping -------------------------------------------------------------------

    def request_stop(self, drain: bool = True) -> None:
        """Drain (stop the sources, let the rest flow) or, with ``drain=False``, end at once."""
        self.stop_mode = "drain" if drain and self.stop_mode != "cancel" else "cancel"
        if self.stop_mode == "drain":
            for node, _ in self.sources:
                request_stop(node)
        else:
            self._cancelled = True

    # -- the run --------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run to the end across the workers; return the result, or raise the run's error.

        Raises ``ConnectionError`` at once if Redis cannot be reached.
        """
        await reachable(self.url)
        redis = connect(self.url, self.transport.reconnect)
        keys = Keys().run(self.run_id)
        ctx = RunContext(
            redis=redis,
            keys=keys,
            plan=self.plan,
            topology=self.topology,
            transport=self.transport,
            codec=make_codec(self.transport.serializer),
            clock=self.clock,
            instance=f"coordinator-{self.run_id}",
            heartbeat=keys.alive,
        )
        self.sources = build_sources(ctx, self.plan, self.env_vars, self.events)
        if self.stop_mode is not None:
            self.request_stop(self.stop_mode == "drain")  # asked before the sources existed
        workers = [name for name, spec in self.plan.nodes.items() if not spec.is_source]
        self.monitor = Monitor(ctx, self.events, workers)
        self.started = time.monotonic()
        executors = make_executors([node for node, _ in self.sources])
        clean = False
        try:
            await create_run(
                ctx, self.fingerprint, self.env_vars, [node.name for node, _ in self.sources]
            )
            self.events.emit(
                "run_started",
                graph=self.plan,
                transport="redis",
                run_id=self.run_id,
                redis=redact(self.url),
            )
            result = await self._run(ctx)
            clean = True
        except PipelineError as exc:
            exc.result = self.result("failed")
            await self._end(ctx, "failed")
            self.events.emit("run_finished", error=exc)
            raise
        except BaseException as exc:
            # Redis lost for good: nothing to clean up there (the workers drop
            # the run when its heartbeat expires).
            await self._end(ctx, "stopped", reachable=not isinstance(exc, ConnectionError))
            self.events.emit("run_finished", error=exc)
            raise
        finally:
            await close_executors([node for node, _ in self.sources], executors, clean)
        await self._end(ctx, result.status)
        self.events.emit("run_finished", result=result)
        return result

    async def _run(self, ctx: RunContext) -> RunResult:
        try:
            async with asyncio.TaskGroup() as tg:
                keeper = tg.create_task(self._keep_alive(ctx))
                self._tasks = [keeper]
                for node, senders in self.sources:
                    self._tasks.append(tg.create_task(self._source(ctx, node, senders)))
                try:
                    await self._watch(ctx)
                finally:
                    keeper.cancel()
        except BaseExceptionGroup as group:
            error = first_in_group(group, PipelineError)
            if error is not None:
                raise error from error.__cause__
            lost = first_in_group(group, RedisError)
            if lost is not None:
                raise ConnectionError(f"lost Redis at {redact(self.url)}: {lost}") from lost
            raise
        status = "stopped" if self.stop_mode else "completed"
        return self.result(status)

    async def _keep_alive(self, ctx: RunContext) -> None:
        ttl = int(self.transport.ttl * 1000)
        while True:
            await ctx.redis.client.set(ctx.keys.alive, ctx.instance, px=ttl)
            await self.clock.sleep(self.transport.heartbeat)

    async def _source(self, ctx: RunContext, node: Node, senders: list[Sender]) -> None:
        """Run one source here; once all it made is in Redis, finish it and end its links."""
        async with asyncio.TaskGroup() as tg:
            for sender in senders:
                tg.create_task(sender.run(), name=f"pipelines:{node.name}:send")
            node.task = tg.create_task(run_node(node), name=f"pipelines:{node.name}")
        keys = ctx.keys
        await ctx.redis.finish(
            keys=[keys.meta, keys.fin, keys.stats(node.name)], args=[node.name, now_ms(), 0, 0]
        )
        await ctx.redis.end(
            keys=[keys.meta, keys.replicas(node.name), *(s.stream for s in senders)],
            args=[ctx.consumer(node.name), f"-{keys.alive}"],
        )

    async def _watch(self, ctx: RunContext) -> None:
        """Follow the workers until every node finished; raise the run's failure."""
        monitor = self.monitor
        assert monitor is not None
        clock = self.clock
        next_stats = clock.monotonic()
        next_warning = clock.monotonic() + WORKER_GRACE
        while not self._cancelled:
            came = await monitor.poll(_POLL_MS)
            now = clock.monotonic()
            if not came and now < next_stats:
                continue
            snap = await monitor.snapshot()
            self.snapshot = snap
            monitor.report_finished(snap)
            if snap.status == "failed" and snap.error is not None:
                raise _remote_failure(snap.error)
            if snap.status != "running":
                gone = RuntimeError(f"the run was ended from outside (status {snap.status!r})")
                raise PipelineError("<run>", None, gone) from gone
            if all(name in snap.finished for name in self.plan.nodes):
                while await monitor.poll(None):
                    pass  # the last collected results
                self.snapshot = await monitor.snapshot()
                return
            if now >= next_stats:
                next_stats = now + self.stats_interval
                self._emit_stats(snap)
            if now >= next_warning:
                next_warning = now + 30.0
                await self._warn_missing(ctx, snap)
        for _, senders in self.sources:
            for sender in senders:
                sender.halted = True
        for task in self._tasks:
            task.cancel()

    def _emit_stats(self, snap: Snapshot) -> None:
        if not self.events:
            return
        stats = {name: snap.stats[name].copy() for name in snap.stats}
        for node, _ in self.sources:
            stats[node.name] = node.stats.copy()
        replicas = dict(snap.replicas)
        for node, _ in self.sources:
            replicas[node.name] = 0 if node.task is None or node.task.done() else 1
        self.events.emit(
            "stats", stats=stats, depths=snap.depths, links=snap.links, replicas=replicas
        )

    async def _warn_missing(self, ctx: RunContext, snap: Snapshot) -> None:
        missing = [node for node, count in snap.registered.items() if not count]
        if not missing:
            return
        # The usual cause: workers started with another version of the spec file.
        others = [
            f"{w.get('name')} (spec {w.get('fingerprint')})"
            for w in await list_workers(ctx.redis.client)
            if w.get("spec") == (self.plan.spec.name or self.plan.spec.source or "")
            and w.get("fingerprint") != self.fingerprint
        ]
        hint = (
            f"; live workers of another version of this spec (their file differs from this "
            f"one, spec {self.fingerprint}): {', '.join(others)}"
            if others
            else ""
        )
        log.warning(
            "pipelines: run %s waits for workers: no worker serves %s yet "
            "(start `pipelines worker SPEC --redis URL` with the same spec file)%s",
            self.run_id,
            ", ".join(missing),
            hint,
        )

    async def _end(self, ctx: RunContext, status: str, reachable: bool = True) -> None:
        """Tell the workers the run is over, then delete every key of the run."""
        try:
            if not reachable:
                return
            async with asyncio.timeout(10.0):
                await ctx.redis.client.hset(ctx.keys.meta, "status", status)
                await delete_run(ctx.redis.client, ctx.keys, self.fingerprint)
        except Exception as exc:  # Redis gone: the workers drop the run when its heartbeat expires
            log.warning("pipelines: could not clean up run %s in Redis: %s", self.run_id, exc)
        finally:
            with contextlib.suppress(Exception):
                await ctx.redis.close()

    # -- results ---------------------------------------------------------------------

    def result(self, status: str) -> RunResult:
        """The run's result from what is known now (the partial result of a failed run)."""
        stats: dict[str, NodeStats] = {}
        snap = self.snapshot
        outputs = self.monitor.outputs() if self.monitor is not None else {}
        local = {node.name: node for node, _ in self.sources}
        for name, spec in self.plan.nodes.items():
            node = local.get(name)
            if node is not None:
                stats[name] = node.stats
                if node.collected is not None:
                    outputs[name] = node.collected
            elif snap is not None and name in snap.stats:
                stats[name] = snap.stats[name]
            else:
                stats[name] = NodeStats()
            if spec.options.collect:
                outputs.setdefault(name, [])
        return RunResult(
            status=status,
            duration=time.monotonic() - self.started,
            stats=stats,
            outputs=outputs,
            graph=self.plan,
        )


def _remote_failure(error: dict[str, Any]) -> PipelineError:
    cause = remote_error(str(error.get("type", "Exception")), str(error.get("message", "")))
    failure = PipelineError(
        str(error.get("node")), error.get("item"), cause, int(error.get("attempts", 1))
    )
    failure.__cause__ = cause
    return failure
