"""One run of a plan: resources and context, run hooks, the nodes' task group, the result.

The Plumber builds the nodes and links, then hands them to a :class:`Session`
which runs them once::

    resources entered (in order)       -> run_started event (with the run id)
    before_run() hook
    every node's task, under one TaskGroup (watch: sampling and stats events)
    after_run(result) hook, or on_error(error) on a failure
    resources exited (in reverse)      -> executors closed -> run_finished event

Resources are exited whatever happens (failure, stop, cancellation), and the
ones already entered are exited when a later one fails to enter.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import PipelineError
from ..plan import Plan
from .building import Edge
from .context import Context
from .events import EventBus
from .executors import close_executors, make_executors
from .hooks import run_hook
from .lifecycle import run_node
from .monitor import raise_from_group, watch
from .node import Node
from .resources import open_resources
from .runlog import set_run
from .stats import RunResult

__all__ = ["Session", "new_run_id"]


def new_run_id() -> str:
    """A fresh run id: 12 hex digits."""
    return uuid.uuid4().hex[:12]


class Session:
    """What one run of a Plumber owns, from its first step to its result."""

    def __init__(
        self,
        plan: Plan,
        nodes: dict[str, Node],
        edges: list[Edge],
        events: EventBus,
        context: dict[str, Any],
        run_id: str,
    ) -> None:
        self.plan = plan
        self.nodes = nodes
        self.edges = edges
        self.events = events
        self.run_id = run_id
        spec = plan.spec
        self.context = Context(context, protected=spec.context_mode == "protected")
        self.started = time.monotonic()
        self.stopped = False  # set by the Plumber when a stop was requested

    def result(self, status: str) -> RunResult:
        """The run's figures now, as a :class:`RunResult` with ``status``."""
        nodes = self.nodes.values()
        for node in nodes:
            node.sync_peak()
        return RunResult(
            status=status,
            duration=time.monotonic() - self.started,
            stats={node.name: node.stats for node in nodes},
            outputs={node.name: node.collected for node in nodes if node.collected is not None},
            graph=self.plan,
        )

    async def run(
        self, sample_calls: bool, stats_interval: float, on_tasks: Callable[[], None]
    ) -> RunResult:
        """Run every node to its end; ``on_tasks`` is called once their tasks exist."""
        set_run(self.run_id)  # for get_run_logger(), in this task and the node tasks
        nodes = list(self.nodes.values())
        resolved = asyncio.get_running_loop().create_future()
        resolved.set_result(None)  # what a stats poke puts in a waiter list
        hooks = self.plan.spec.hooks
        self.events.emit("run_started", graph=self.plan, run_id=self.run_id)
        executors = make_executors(nodes)
        clean = False
        try:
            async with contextlib.AsyncExitStack() as stack:
                resources = await open_resources(stack, self.plan.spec.resources)
                for node in nodes:
                    node.resolved = resolved
                    node.injectables = {"context": self.context, **resources}
                await run_hook(hooks, "before_run")
                try:
                    async with asyncio.TaskGroup() as tg:
                        tasks = []
                        for node in nodes:
                            node.task = tg.create_task(
                                run_node(node), name=f"pipelines:{node.name}"
                            )
                            tasks.append(node.task)
                        on_tasks()
                        await watch(
                            tasks, self.nodes, self.events, self.edges, sample_calls, stats_interval
                        )
                except BaseExceptionGroup as group:
                    raise_from_group(group)
                    raise
                result = self.result("stopped" if self.stopped else "completed")
                await run_hook(hooks, "after_run", result)
            clean = True
        except BaseException as exc:
            if isinstance(exc, PipelineError):
                # What the run did before it failed: stats and outputs so far.
                exc.result = self.result("failed")
            if isinstance(exc, Exception):
                await run_hook(hooks, "on_error", exc)
            self.events.emit("run_finished", error=exc, run_id=self.run_id)
            raise
        finally:
            for node in nodes:
                node.sync_peak()
            await close_executors(nodes, executors, clean)
        self.events.emit("run_finished", result=result, run_id=self.run_id)
        return result
