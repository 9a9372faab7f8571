"""``Pipeline``: wpipe's sequential steps, run by the engine and recorded like any graph."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import PipelineError
from ..runtime.plumber import Plumber
from ..store import Recording, Store
from .graph import StepRun, announce
from .step import Step, StepError, merge, parse_steps
from .workers import WorkerRegistry

__all__ = ["Pipeline"]


class Pipeline:
    """Steps run one after the other on a dict, each adding what it returns (wpipe's API).

    ::

        pipeline = Pipeline(verbose=True)
        pipeline.set_steps([(step1, "Paso 1", "v1.0"), (Demo(), "Paso 2", "v1.0")])
        result = pipeline.run({"input": "datos"})     # in a running loop: await pipeline.run(...)

    A step is a function, an ``async def`` or a callable object taking a dict
    and returning a dict (or None); the returned dicts accumulate, so a step
    sees the input and everything earlier steps returned, and ``run`` returns
    the accumulated dict. A failing step stops the run at once with a
    :class:`StepError` naming it (name and version), chaining the original
    exception, its ``data`` the partial dict.

    Each ``run`` is a run of the engine: a graph of one node per step (see
    :mod:`pipelines.steps.graph`). With ``store`` (a
    :class:`~pipelines.store.Store` or the path of one), each run is recorded
    in it, with a node per step and the pipeline's worker as its worker, so
    it shows in ``pipelines runs`` and on the dashboard; ``name`` is the
    pipeline's name there (default: the registered worker's name, else
    ``steps``); ``worker_name`` names the worker registered when a run needs
    one and none was (default ``host:pid``). ``verbose`` prints each step as
    it starts (``[1/3] Paso 1 v1.0``) and a failure. With a store, close the
    pipeline when done (``close()`` or ``with``), so its worker goes offline
    at once; it is also closed when the interpreter exits.

    A Pipeline is itself an async callable on a dict (``await
    pipeline(data)``), so it can be a graph's node or another pipeline's
    step: each item goes through all the steps, in that node (plain ``def``
    steps in a thread); such a call is part of the caller's run and is not
    recorded as a run of its own.
    """

    def __init__(
        self,
        *,
        store: Store | str | Path | None = None,
        verbose: bool = False,
        name: str | None = None,
        worker_name: str | None = None,
    ) -> None:
        self.verbose = verbose
        self.name = name
        self._owned: Store | None = None
        if store is not None and not isinstance(store, Store):
            store = self._owned = Store(store)
        self.store: Store | None = store
        self._steps: list[Step] = []
        self._workers = WorkerRegistry(store, worker_name)
        #: The id of the last run started by :meth:`run` (with a store, its record's id).
        self.last_run_id: str | None = None
        self._recording: Recording | None = None
        self._finalizer = weakref.finalize(self, _close, self._workers, self._owned)

    def __repr__(self) -> str:
        steps = ", ".join(step.label for step in self._steps)
        return f"<steps Pipeline [{steps}]>"

    # -- steps ----------------------------------------------------------------------------

    def set_steps(self, steps: list[Any]) -> Pipeline:
        """Set (or replace) the steps: ``[(function, "name", "version"), ...]``.

        Also ``(function, "name")`` and a bare function. Raises
        :class:`~pipelines.SpecError` listing every problem (``steps[1].name:
        must be a non-empty string``); the steps set before stay then.
        """
        self._steps = parse_steps(steps)
        return self

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps, in order."""
        return tuple(self._steps)

    # -- running --------------------------------------------------------------------------

    def run(self, data: Mapping[str, Any] | None = None) -> Any:
        """Run every step on ``data`` and return the accumulated dict.

        Outside an event loop it blocks until the run ends; inside a running
        loop it returns an awaitable (``resultado = await pipeline.run(data)``),
        as wpipe does. Raises :class:`StepError` when a step fails.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(data))
        return self.arun(data)

    async def arun(self, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """:meth:`run` as a coroutine, whatever the thread: the accumulated dict."""
        steps = self._ready()
        run = StepRun(steps, _input(data), self.verbose)
        worker = self._workers.current
        name = self.name or self._workers.name_of(worker) or "steps"
        version = self._workers.version_of(worker)
        plumber = Plumber(run.spec(name, version))
        recorder = self._workers.recorder()
        if recorder is not None:
            self._recording = recorder.record(
                plumber, pipeline=name, spec=run.describe(name, version)
            )
            self.last_run_id = self._recording.id
        try:
            # In a task of its own: the run's id (for run logs) stays in that task's context.
            await asyncio.ensure_future(plumber.run())
        except PipelineError as exc:
            found = run.by_node.get(exc.node) if exc.node is not None else None
            if found is None:
                raise
            position, step = found
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            if self.verbose:
                announce(position, len(steps), step, cause)
            error = StepError(step, position, run.data, cause)
            error.result = exc.result
            raise error from cause
        finally:
            if recorder is None:
                self.last_run_id = plumber.run_id
        return run.data

    async def __call__(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Every step on ``data``, in this task (plain ``def`` steps in a thread): the
        accumulated dict. For use as a graph's node or another pipeline's step; not recorded."""
        steps = self._ready()
        acc = _input(data)
        for position, step in enumerate(steps, 1):
            if self.verbose:
                announce(position, len(steps), step)
            try:
                if step.is_async:
                    result = await step.func(acc)
                else:
                    result = await asyncio.to_thread(step.func, acc)
                merge(step, acc, result)
            except Exception as exc:
                if self.verbose:
                    announce(position, len(steps), step, exc)
                raise StepError(step, position, acc, exc) from exc
        return acc

    def _ready(self) -> list[Step]:
        if not self._steps:
            raise RuntimeError("this Pipeline has no steps: call set_steps([...]) first")
        return list(self._steps)

    # -- workers (wpipe's tracking calls) -------------------------------------------------

    def worker_register(self, name: str, version: str | None = None) -> dict[str, Any]:
        """Register a worker (this process, running these steps) and make it the current one.

        Returns ``{"id", "name", "version", "tasks"}`` (``tasks``: the steps'
        names and versions). With a store the worker is in it, online, its
        heartbeat sent by a thread every period; without one it exists only
        here.
        """
        tasks = [{"name": step.name, "version": step.version} for step in self._steps]
        info = self._workers.register(name, version, tasks)
        self._workers.use(info["id"])
        return info

    def set_worker_id(self, worker_id: Any) -> Pipeline:
        """Record the next runs under this worker: the dict :meth:`worker_register` returned,
        or its id (also one registered by an earlier process, found in the store).

        Raises ValueError for an id the store does not know.
        """
        self._workers.use(worker_id)
        return self

    @property
    def worker_id(self) -> str | None:
        """The id of the worker the next runs are recorded under (None before one is set)."""
        return self._workers.current

    def healthcheck_worker(self, worker_id: Any = None) -> dict[str, Any]:
        """Send a heartbeat of the worker now (by default the current one); returns
        ``{"id", "name", "version", "status", "last_heartbeat"}``. Safe from another thread.

        With a store the heartbeat is also sent every period without this call.
        """
        if worker_id is None:
            worker_id = self._workers.current
        return self._workers.beat(worker_id)

    # -- life -----------------------------------------------------------------------------

    def close(self) -> None:
        """Mark the workers offline, stop their threads, close a store opened from a path."""
        self._finalizer()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close(workers: WorkerRegistry, owned: Store | None) -> None:
    workers.close()
    if owned is not None:
        owned.close()


def _input(data: Mapping[str, Any] | None) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise TypeError(f"a steps pipeline runs on a dict, got {type(data).__name__}")
    return dict(data)
