"""The Plumber: builds one Processor per node, wires bounded links, runs the graph."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from ..errors import GraphStalled, PipelineError
from ..plan import Plan, make_plan
from ..spec.loader import load_file
from .building import build_nodes, gc_paused
from .events import Event, EventBus
from .executors import close_executors, make_executors
from .lifecycle import run_node
from .node import Node
from .processor import Processor
from .sources import request_stop
from .stall import Stalled
from .stats import RunResult

__all__ = ["Plumber"]

log = logging.getLogger("pipelines")


class Plumber:
    """Validate a graph spec and run it.

    ``Plumber(spec, coro_map=None, env_vars=None)`` validates ``spec`` (a dict
    in the upstream format, see the README) completely and raises
    :class:`~pipelines.SpecError` listing every problem; nothing runs until
    :meth:`run` (or the upstream :meth:`create_pipeline`) is called.

    ``coro_map`` is applied to every node's ``coro`` value; ``env_vars`` is
    available to every node as ``processor.env_vars`` (merged over the spec's
    ``env`` section). ``stats_interval`` is the period, in seconds, of
    ``stats`` events sent to subscribers.
    """

    def __init__(
        self,
        spec: dict[str, Any],
        coro_map: Callable[[Any], Any] | None = None,
        env_vars: dict[str, Any] | None = None,
        *,
        stats_interval: float = 0.5,
        base_dir: str | Path | None = None,
        source: str | None = None,
    ) -> None:
        # Building allocates a few objects per node and none of them is garbage:
        # pausing the cyclic GC keeps large graphs linear (50,000 nodes).
        self._raw_spec = spec  # what a distributed run names the spec by (its fingerprint)
        with gc_paused():
            self._plan: Plan = make_plan(
                spec, coro_map, Path(base_dir) if base_dir else None, source
            )
            env = dict(self._plan.spec.env)
            env.update(env_vars or {})
            self.env_vars: dict[str, Any] = env
            self.stats_interval = stats_interval
            self._events = EventBus()
            self._nodes: dict[str, Node] = {}
            self._fresh = False
            self._build()
        self._running = False
        self._finished: asyncio.Event | None = None
        self._stop_mode: str | None = None
        self._background: asyncio.Task[RunResult] | None = None
        self._last_result: RunResult | None = None
        self._remote: Any = None  # the Coordinator of a distributed run

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        coro_map: Callable[[Any], Any] | None = None,
        env_vars: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Plumber:
        """Load a YAML, JSON or TOML spec; import strings also resolve in the file's folder."""
        p = Path(path)
        data = load_file(p)
        return cls(data, coro_map, env_vars, base_dir=p.resolve().parent, source=str(p), **kwargs)

    # -- views ---------------------------------------------------------------

    @property
    def nodes(self) -> list[Processor]:
        """The Processors, one per node, in the order of the spec's ``nodes``."""
        return [_handle(node) for node in self._nodes.values()]

    @property
    def plan(self) -> Plan:
        """The validated plan (spec + ``networkx`` model)."""
        return self._plan

    @property
    def graph(self) -> nx.DiGraph:
        """The graph as a ``networkx.DiGraph`` (node attrs: kind, mode, spec)."""
        return self._plan.graph

    @property
    def running(self) -> bool:
        """True while a run of this Plumber is under way."""
        return self._running

    def __getitem__(self, name: str) -> Processor:
        return _handle(self._nodes[name])

    def subscribe(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for each run event; returns an unsubscribe function."""
        return self._events.subscribe(callback)

    # -- diagrams (drawn by pipelines.diagram) --------------------------------------
    # The one place the runtime reaches up to a surface: these conveniences
    # import the diagram package lazily, when called (see CONTRIBUTING.md).

    def to_dot(self) -> str:
        """The graph in Graphviz DOT."""
        from ..diagram import to_dot

        return to_dot(self._plan)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart."""
        from ..diagram import to_mermaid

        return to_mermaid(self._plan)

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Draw the graph to ``path`` (svg, png, pdf, dot or mermaid; from the suffix by default)."""
        from ..diagram import render

        return render(self._plan, path, format)

    # -- building ----------------------------------------------------------------

    def _build(self) -> None:
        """Create fresh nodes, Processors and links for one run."""
        self._nodes = build_nodes(self._plan, self.env_vars, self._events)
        self._fresh = True

    # -- running -----------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run the graph until every node has finished; return a :class:`RunResult`.

        Raises :class:`~pipelines.PipelineError` when a node fails (with
        ``on_error: raise``, the default): the other nodes are cancelled first.
        Cancelling the task that awaits ``run()`` cancels the whole graph and
        leaves no task, thread or process behind. After :meth:`stop`, returns
        normally with ``status == "stopped"``.
        """
        if self._running:
            raise RuntimeError("this Plumber is already running")
        transport = self._plan.spec.transport
        if transport is not None and transport.redis:
            return await self._run_remote()
        if not self._fresh:
            with gc_paused():
                self._build()
        self._fresh = False
        self._running = True
        self._stop_mode = None
        self._finished = asyncio.Event()
        nodes = list(self._nodes.values())
        events = self._events
        started = time.monotonic()
        events.emit("run_started", graph=self._plan)
        executors = make_executors(nodes)
        clean = False
        try:
            try:
                async with asyncio.TaskGroup() as tg:
                    tasks = []
                    for node in nodes:
                        node.task = tg.create_task(run_node(node), name=f"pipelines:{node.name}")
                        tasks.append(node.task)
                    await self._watch(tasks)
            except BaseExceptionGroup as group:
                error = _first(group, PipelineError)
                if error is not None:
                    raise error from error.__cause__
                stalled = _first(group, Stalled)
                if stalled is not None:
                    raise GraphStalled(stalled.waits) from None
                raise
            clean = True
        except BaseException as exc:
            if isinstance(exc, PipelineError):
                # What the run did before it failed: stats and outputs so far.
                exc.result = self._result("failed", nodes, started)
            events.emit("run_finished", error=exc)
            raise
        finally:
            for node in nodes:
                node.sync_peak()
            await close_executors(nodes, executors, clean)
            self._running = False
            self._finished.set()
        result = self._result("stopped" if self._stop_mode else "completed", nodes, started)
        self._last_result = result
        events.emit("run_finished", result=result)
        return result

    async def _run_remote(self) -> RunResult:
        """The run on Redis Streams (``transport.redis``): see docs/distributed.md."""
        from .distributed.coordinator import Coordinator  # a local run never loads Redis

        self._remote = Coordinator(
            self._plan,
            self._raw_spec,
            self.env_vars,
            self._events,
            stats_interval=self.stats_interval,
        )
        self._running = True
        self._finished = asyncio.Event()
        try:
            result: RunResult = await self._remote.run()
        finally:
            self._running = False
            self._finished.set()
        self._last_result = result
        return result

    def _result(self, status: str, nodes: list[Node], started: float) -> RunResult:
        for node in nodes:
            node.sync_peak()
        return RunResult(
            status=status,
            duration=time.monotonic() - started,
            stats={node.name: node.stats for node in nodes},
            outputs={node.name: node.collected for node in nodes if node.collected is not None},
            graph=self._plan,
        )

    def result_so_far(self, status: str, started: float) -> RunResult:
        """A :class:`RunResult` of the nodes' figures now, for a run that ended without one.

        ``started`` is the ``time.monotonic()`` the caller took before the run.
        """
        if self._remote is not None:
            result: RunResult = self._remote.result(status)
            return result
        return self._result(status, list(self._nodes.values()), started)

    async def _watch(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for every node; meanwhile send periodic ``stats`` events to subscribers."""
        pending = set(tasks)
        while pending:
            if not self._events:
                _, pending = await asyncio.wait(pending)
                break
            _, pending = await asyncio.wait(pending, timeout=self.stats_interval)
            self._emit_stats()

    def _emit_stats(self) -> None:
        if self._events:
            nodes = self._nodes.values()
            self._events.emit(
                "stats",
                stats={node.name: node.sync_peak().copy() for node in nodes},
                depths={node.name: node.depth for node in nodes},
            )

    def request_stop(self, drain: bool = True) -> None:
        """Ask a running graph to stop, without waiting (safe from signal handlers and nodes).

        ``drain=True`` stops the sources (each between two items) and lets
        everything already produced reach the sinks; ``drain=False`` cancels
        every node at once. A second call with ``drain=False`` escalates.
        """
        if not self._running:
            return
        if self._remote is not None:
            self._remote.request_stop(drain)
            return
        self._stop_mode = "drain" if drain and self._stop_mode != "cancel" else "cancel"
        if self._stop_mode == "drain":
            for node in self._nodes.values():
                if node.spec.is_source:
                    request_stop(node)
        else:
            for node in self._nodes.values():
                if node.task is not None and not node.task.done():
                    node.task.cancel()

    async def stop(self, drain: bool = True) -> None:
        """Stop a running graph and return once it has ended (see :meth:`request_stop`).

        ``run()`` then returns normally with ``status == "stopped"``. Do not
        await this from inside one of the graph's own nodes (it would wait
        for itself); call :meth:`request_stop` there.
        """
        if not self._running or self._finished is None:
            return
        self.request_stop(drain)
        await self._finished.wait()

    # -- upstream style ------------------------------------------------------------

    def create_pipeline(self) -> asyncio.Task[RunResult]:
        """Start the graph in the background of the running loop and return at once.

        Upstream API. ``await plumber.wait()`` waits for it and returns the
        result (or raises its error).
        """
        if self._background is not None and not self._background.done():
            return self._background
        task = asyncio.get_running_loop().create_task(self.run(), name="pipelines:run")
        task.add_done_callback(_log_background_failure)
        self._background = task
        return task

    async def wait(self) -> RunResult:
        """Wait for a graph started by :meth:`create_pipeline`; run it if not started."""
        if self._background is None:
            return await self.run()
        return await self._background


def _handle(node: Node) -> Processor:
    assert node.processor is not None, "the builder gives every node its Processor"
    return node.processor


def _first(group: BaseExceptionGroup[Any], kind: type[BaseException]) -> Any:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found = _first(exc, kind)
            if found is not None:
                return found
        elif isinstance(exc, kind):
            return exc
    return None


def _log_background_failure(task: asyncio.Task[Any]) -> None:
    # Retrieving the exception here keeps asyncio from warning "exception was
    # never retrieved" when nobody awaits wait(); wait() still raises it.
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("pipelines: background run failed: %s", exc)
