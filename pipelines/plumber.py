"""The Plumber: builds one Processor per node, wires bounded links, runs the graph."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.context
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import networkx as nx

from .calling import Shape
from .errors import GraphStalled, PipelineError
from .events import Event, EventBus
from .link import Link
from .loader import load_file
from .plan import Plan, make_plan
from .processor import Processor
from .stall import Board, Stalled
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
        with _gc_paused():
            self._plan: Plan = make_plan(
                spec, coro_map, Path(base_dir) if base_dir else None, source
            )
            env = dict(self._plan.spec.env)
            env.update(env_vars or {})
            self.env_vars: dict[str, Any] = env
            self.stats_interval = stats_interval
            self._events = EventBus()
            self._processors: dict[str, Processor] = {}
            self._fresh = False
            self._build()
        self._running = False
        self._finished: asyncio.Event | None = None
        self._stop_mode: str | None = None
        self._background: asyncio.Task[RunResult] | None = None
        self._last_result: RunResult | None = None

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
        return list(self._processors.values())

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
        return self._processors[name]

    def subscribe(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for each run event; returns an unsubscribe function."""
        return self._events.subscribe(callback)

    # -- diagrams (drawn by pipelines.diagram) --------------------------------------

    def to_dot(self) -> str:
        """The graph in Graphviz DOT."""
        from .diagram import to_dot

        return to_dot(self._plan)

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart."""
        from .diagram import to_mermaid

        return to_mermaid(self._plan)

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Draw the graph to ``path`` (svg, png, pdf, dot or mermaid; from the suffix by default)."""
        from .diagram import render

        return render(self._plan, path, format)

    # -- building ----------------------------------------------------------------

    def _build(self) -> None:
        """Create fresh Processors and links for one run."""
        nodes = self._plan.nodes
        board = Board(alive=len(nodes))  # this run's stall detector: every node is an actor
        procs = {name: Processor(node, self.env_vars, self._events) for name, node in nodes.items()}
        # Input links of each node: a zip gets one link per source, in the
        # order the sources appear as keys of ``graph``; a merge (or a single
        # input) one link whose producers are all its sources.
        links_in: dict[str, dict[str, Link]] = {}
        for name, node in nodes.items():
            cap = node.options.capacity
            proc = procs[name]
            feeders = list(node.inputs) + list(node.dead_letter_from)
            if not feeders:
                links_in[name] = {}
                continue
            if node.options.aggregate_inputs and len(node.inputs) > 1:
                per = {src: Link(f"{src}->{name}", cap, board=board) for src in node.inputs}
                proc._inputs = list(per.values())
                links_in[name] = per
            else:
                shared = Link(f"{','.join(feeders)}->{name}", cap, len(feeders), board)
                proc._inputs = [shared]
                links_in[name] = dict.fromkeys(feeders, shared)
        for name, node in nodes.items():
            outs = [links_in[target][name] for target in node.outputs]
            dead = links_in[node.dead_letter][name] if node.dead_letter else None
            procs[name]._wire(outs, dead, None, board)
        self._processors = procs
        self._fresh = True

    def _make_executors(self) -> list[concurrent.futures.Executor]:
        """Thread pool for plain def functions, one process pool per process node."""
        executors: list[concurrent.futures.Executor] = []
        thread_workers = 0
        for proc in self._processors.values():
            node = proc.spec
            if node.signature.is_async or node.signature.shape is Shape.ITERABLE:
                continue
            if node.options.executor == "process":
                pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=node.options.concurrency, mp_context=_process_context()
                )
                executors.append(pool)
                proc._executor = pool
            else:
                thread_workers += node.options.concurrency
        if thread_workers:
            threads = concurrent.futures.ThreadPoolExecutor(
                thread_workers, thread_name_prefix="pipelines"
            )
            executors.append(threads)
            for proc in self._processors.values():
                node = proc.spec
                if (
                    proc._executor is None
                    and not node.signature.is_async
                    and node.signature.shape is not Shape.ITERABLE
                ):
                    proc._executor = threads
        return executors

    async def _close_executors(
        self, executors: list[concurrent.futures.Executor], clean: bool
    ) -> None:
        """Let calls already running in threads/processes end, then shut the pools down."""
        for proc in self._processors.values():
            for cf in list(proc._inflight):
                cf.cancel()  # not started yet: never starts
        for executor in executors:
            if isinstance(executor, concurrent.futures.ProcessPoolExecutor) and not clean:
                # A cancelled run does not wait for CPU-bound calls to finish.
                for process in list(getattr(executor, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        process.terminate()
        for proc in self._processors.values():
            for cf in list(proc._inflight):
                if not cf.cancelled():
                    with contextlib.suppress(BaseException):
                        await asyncio.wrap_future(cf)
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=True)

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
        if not self._fresh:
            with _gc_paused():
                self._build()
        self._fresh = False
        self._running = True
        self._stop_mode = None
        self._finished = asyncio.Event()
        procs = list(self._processors.values())
        events = self._events
        started = time.monotonic()
        events.emit("run_started", graph=self._plan)
        executors = self._make_executors()
        clean = False
        try:
            try:
                async with asyncio.TaskGroup() as tg:
                    tasks = []
                    for proc in procs:
                        proc._task = tg.create_task(proc._run(), name=f"pipelines:{proc.name}")
                        tasks.append(proc._task)
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
                exc.result = self._result("failed", procs, started)
            events.emit("run_finished", error=exc)
            raise
        finally:
            for proc in procs:
                proc._sync_peak()
            await self._close_executors(executors, clean)
            self._running = False
            self._finished.set()
        result = self._result("stopped" if self._stop_mode else "completed", procs, started)
        self._last_result = result
        events.emit("run_finished", result=result)
        return result

    def _result(self, status: str, procs: list[Processor], started: float) -> RunResult:
        for proc in procs:
            proc._sync_peak()
        return RunResult(
            status=status,
            duration=time.monotonic() - started,
            stats={proc.name: proc.stats for proc in procs},
            outputs={proc.name: proc.collected for proc in procs if proc.collected is not None},
            graph=self._plan,
        )

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
            procs = self._processors.values()
            self._events.emit(
                "stats",
                stats={p.name: p._sync_peak().copy() for p in procs},
                depths={p.name: p.depth for p in procs},
            )

    def request_stop(self, drain: bool = True) -> None:
        """Ask a running graph to stop, without waiting (safe from signal handlers and nodes).

        ``drain=True`` stops the sources (each between two items) and lets
        everything already produced reach the sinks; ``drain=False`` cancels
        every node at once. A second call with ``drain=False`` escalates.
        """
        if not self._running:
            return
        self._stop_mode = "drain" if drain and self._stop_mode != "cancel" else "cancel"
        if self._stop_mode == "drain":
            for proc in self._processors.values():
                if proc.spec.is_source:
                    proc._request_stop()
        else:
            for proc in self._processors.values():
                if proc._task is not None and not proc._task.done():
                    proc._task.cancel()

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


def _process_context() -> multiprocessing.context.BaseContext:
    """The start method of process pools: fork where the platform has it.

    Forked workers inherit every module the parent imported, including
    functions loaded from beside a spec file under a private module name,
    so any function a spec resolved can be pickled by reference. (Python
    3.14 makes forkserver the default on Linux; it would re-import instead.)
    """
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
