"""The Plumber: builds one Processor per node, wires bounded links, runs the graph."""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import networkx as nx

from ..plan import Plan, make_plan
from ..spec.loader import load_file
from .building import Edge, build_nodes, gc_paused
from .clock import SYSTEM_CLOCK, Clock
from .events import Event, EventBus
from .node import Node
from .processor import Processor
from .session import Session, new_run_id
from .sources import request_stop
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
    ``env`` section). ``context`` updates the spec's ``context`` (the mapping
    shared by all nodes, see :mod:`pipelines.runtime.context`).
    ``stats_interval`` is the period, in seconds, of
    ``stats`` events sent to subscribers. ``sample_calls=True`` times one
    call per node every 50 ms and fills ``NodeStats.busy`` and the latency
    percentiles (off by default; see :mod:`pipelines.runtime.sampling`).
    ``clock`` is what every time-based operator reads (batch timeouts,
    windows by time, join ``within``, rates) and what ``processor.clock``
    gives sources: a :class:`~pipelines.testing.VirtualClock` makes a run's
    time exact in tests. Run timing (``duration``, ``stats`` events) stays
    on real time.
    """

    def __init__(
        self,
        spec: dict[str, Any],
        coro_map: Callable[[Any], Any] | None = None,
        env_vars: dict[str, Any] | None = None,
        *,
        stats_interval: float = 0.5,
        sample_calls: bool = False,
        context: dict[str, Any] | None = None,
        base_dir: str | Path | None = None,
        source: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
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
            # The shared context's initial values: the spec's, updated with these.
            self._context = {**self._plan.spec.context, **(context or {})}
            self.stats_interval = stats_interval
            self.clock = clock
            self._events = EventBus()
            self._nodes: dict[str, Node] = {}
            self._edges: list[Edge] = []
            self.sample_calls = sample_calls
            self._fresh = False
            self._build()
        self._running = False
        self._next_run: weakref.ref[Coroutine[Any, Any, RunResult]] | None = None
        self._pending_stop: str | None = None
        self._finished: asyncio.Event | None = None
        self._stop_mode: str | None = None
        self._background: asyncio.Task[RunResult] | None = None
        self._last_result: RunResult | None = None
        self._session: Session | None = None
        #: The id of the current (or last) run; set ``next_run_id`` to choose the next one.
        self.run_id: str | None = None
        self.next_run_id: str | None = None
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

    @property
    def liason_graph(self) -> list[list[Any]]:
        """Upstream view of the links: ``[i][j]`` is the link from node i to node j, or None.

        Nodes are in the order of the spec's ``nodes``; a merge's edges share
        its one link, as in the original.
        """
        order = {name: i for i, name in enumerate(self._nodes)}
        matrix: list[list[Any]] = [[None] * len(order) for _ in order]
        for edge in self._edges:
            matrix[order[edge.source]][order[edge.target]] = edge.link
        return matrix

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
        self._nodes, self._edges = build_nodes(self._plan, self.env_vars, self._events, self.clock)
        self._fresh = True

    # -- running -----------------------------------------------------------------

    def run(self) -> Coroutine[Any, Any, RunResult]:
        """Run the graph until every node has finished; return a :class:`RunResult`.

        ``await plumber.run()``. Raises :class:`~pipelines.PipelineError` when
        a node fails (with ``on_error: raise``, the default): the other nodes
        are cancelled first. Cancelling the task that awaits ``run()`` cancels
        the whole graph and leaves no task, thread or process behind. After
        :meth:`stop` (even one requested before the run took its first step),
        returns normally with ``status == "stopped"``. A node's
        ``KeyboardInterrupt`` or ``SystemExit`` stops the run cleanly and is
        then raised as itself (its ``pipelines_node`` attribute names the node).
        """
        # A plain method returning the coroutine, so that a stop requested
        # before that coroutine takes its first step can be recognised.
        coro = self._run()
        self._next_run = weakref.ref(coro)
        return coro

    def _run_pending(self) -> bool:
        """True while a coroutine made by :meth:`run` has not started yet."""
        coro = self._next_run() if self._next_run is not None else None
        return coro is not None and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED

    async def _run(self) -> RunResult:
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
        pending_stop, self._pending_stop = self._pending_stop, None
        self._finished = asyncio.Event()
        self.run_id = self.next_run_id or new_run_id()
        self.next_run_id = None
        session = Session(
            self._plan, self._nodes, self._edges, self._events, self._context, self.run_id
        )
        self._session = session

        def on_tasks() -> None:
            if pending_stop is not None:
                self.request_stop(drain=pending_stop == "drain")

        try:
            result = await session.run(self.sample_calls, self.stats_interval, on_tasks)
        finally:
            self._running = False
            self._finished.set()
        self._last_result = result
        return result

    async def _run_remote(self) -> RunResult:
        """The run on Redis Streams (``transport.redis``): see docs/distributed.md."""
        from .distributed.coordinator import Coordinator  # a local run never loads Redis

        self.run_id = self.next_run_id or new_run_id()
        self.next_run_id = None
        self._remote = Coordinator(
            self._plan,
            self._raw_spec,
            self.env_vars,
            self._events,
            stats_interval=self.stats_interval,
            run_id=self.run_id,
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

    def result_so_far(self, status: str, started: float | None = None) -> RunResult:
        """A :class:`RunResult` of the nodes' figures now, for a run that ended without one.

        ``started`` (a ``time.monotonic()``) sets where its duration counts from;
        by default the start of the last run.
        """
        if self._remote is not None:
            remote: RunResult = self._remote.result(status)
            return remote
        session = self._session
        if session is None:
            session = Session(self._plan, self._nodes, self._edges, self._events, {}, "")
        if started is not None:
            session.started = started
        return session.result(status)

    def link_figures(self) -> list[dict[str, Any]]:
        """Each edge's ``source``, ``target``, ``kind``, ``capacity``, ``depth`` and ``peak_depth`` now."""
        return [edge.figures() for edge in self._edges]

    def request_stop(self, drain: bool = True) -> None:
        """Ask a running graph to stop, without waiting (safe from signal handlers and nodes).

        ``drain=True`` stops the sources (each between two items) and lets
        everything already produced reach the sinks; ``drain=False`` cancels
        every node at once. A second call with ``drain=False`` escalates.
        """
        if not self._running:
            if self._run_pending():
                # run() was called but its coroutine has not started: it will
                # stop as soon as it does.
                cancel = not drain or self._pending_stop == "cancel"
                self._pending_stop = "cancel" if cancel else "drain"
            return
        if self._remote is not None:
            self._remote.request_stop(drain)
            return
        self._stop_mode = "drain" if drain and self._stop_mode != "cancel" else "cancel"
        if self._session is not None:
            self._session.stopped = True
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
        if not self._running and self._run_pending():
            self.request_stop(drain)
            await asyncio.sleep(0)  # a task made for that run takes its first step now
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


def _log_background_failure(task: asyncio.Task[Any]) -> None:
    # Retrieving the exception here keeps asyncio from warning "exception was
    # never retrieved" when nobody awaits wait(); wait() still raises it.
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("pipelines: background run failed: %s", exc)
