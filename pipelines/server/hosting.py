"""Pipelines a server hosts: loaded once, started on request, stopped with a graceful drain.

A hosted pipeline is a spec file given to ``pipelines serve``. It is
validated when the server starts (every problem is reported then); each
start builds a fresh Plumber from the spec as loaded, records it with the
server's own recorder (trigger ``api``), and runs it on the server's event
loop. How many runs may be live at once is bounded (``max_active``); a
start beyond that is refused, not queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, SpecError
from ..runtime.plumber import Plumber
from ..schedule.cycles import Cycles
from ..spec.limits import NO_LIMITS, WatchdogSpec
from ..spec.loader import load_file
from ..spec.overrides import apply_parameters
from ..spec.schedule import ScheduleSpec
from ..store.recorder import Recorder, new_run_id
from ..store.recording import Recording

__all__ = ["MAX_ACTIVE", "Busy", "Host", "HostedPipeline", "load_hosted"]

log = logging.getLogger("pipelines")

#: Hosted runs live at once, by default.
MAX_ACTIVE = 8


class Busy(RuntimeError):
    """Too many hosted runs are live: the message says how many are allowed."""


@dataclass(slots=True)
class HostedPipeline:
    """One spec file a server hosts."""

    name: str
    path: Path
    data: dict[str, Any]
    version: Any = None
    description: str | None = None
    nodes: list[str] = field(default_factory=list)
    #: Its ``schedule:`` (None: started only on request) and ``watchdog:`` limits.
    schedule: ScheduleSpec | None = None
    limits: WatchdogSpec = NO_LIMITS
    cycle: str = "once"

    def with_parameters(self, parameters: dict[str, Any] | None) -> dict[str, Any]:
        """The spec as loaded with ``{"node.arg": value}`` applied (as ``--set`` would, also
        ``resources.NAME.ARG``). Raises ValueError for a key that fits no node of the spec."""
        if not parameters:
            return self.data
        return apply_parameters(self.data, parameters)

    def plumber(self, data: dict[str, Any] | None = None) -> Plumber:
        """A fresh Plumber for one run (sampled call timing on, for the recorded figures).

        ``data``: the spec to run (default: as loaded); raises SpecError if invalid.
        """
        return Plumber(
            data if data is not None else self.data,
            base_dir=self.path.resolve().parent,
            source=str(self.path),
            sample_calls=True,
        )

    def as_json(self) -> dict[str, Any]:
        """The API form."""
        return {
            "name": self.name,
            "version": None if self.version is None else str(self.version),
            "description": self.description,
            "path": str(self.path),
            "nodes": self.nodes,
            "schedule": self.schedule.describe() if self.schedule is not None else None,
            "cycle": self.cycle,
        }


def load_hosted(paths: list[Path]) -> list[HostedPipeline]:
    """Load and validate spec files; raise :class:`SpecError` with every problem of every file."""
    hosted: list[HostedPipeline] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            data = load_file(path)
            plan = Plumber(data, base_dir=path.resolve().parent, source=str(path)).plan
        except SpecError as exc:
            problems.extend(
                Problem(f"{path}: {p.path}" if p.path else str(path), p.message)
                for p in exc.problems
            )
            continue
        name = plan.spec.name or path.stem
        if name in seen:
            problems.append(
                Problem(str(path), f"pipeline name {name!r} is also the name of {seen[name]}")
            )
            continue
        seen[name] = path
        description = data.get("description")
        hosted.append(
            HostedPipeline(
                name=name,
                path=path,
                data=data,
                version=plan.spec.version,
                description=description if isinstance(description, str) else None,
                nodes=list(plan.spec.nodes),
                schedule=plan.spec.schedule,
                limits=plan.spec.watchdog,
                cycle=plan.spec.cycle.describe(),
            )
        )
    if problems:
        raise SpecError(problems)
    return hosted


@dataclass(slots=True)
class _Live:
    """One live hosted run: its pipeline, Plumber, task, cycles and current run id."""

    name: str
    plumber: Plumber
    cycles: Cycles
    run_id: str
    task: asyncio.Task[None] | None = None


class Host:
    """Starts and stops runs of the hosted pipelines, recording each with ``recorder``.

    A spec with ``cycle:`` runs its cycles in one hosted run: each cycle is
    recorded as its own run (linked to the first), and stopping any of them
    ends the cycles. ``on_end(name)`` is called when a hosted run ends (the
    scheduler starts a queued occurrence then).
    """

    def __init__(
        self,
        pipelines: list[HostedPipeline],
        recorder: Recorder,
        max_active: int = MAX_ACTIVE,
        on_end: Callable[[str], None] | None = None,
    ) -> None:
        self.pipelines = {p.name: p for p in pipelines}
        self.recorder = recorder
        self.max_active = max_active
        self.on_end = on_end
        self._active: dict[str, _Live] = {}  # by the id of its current cycle's run
        self._starting = 0  # starts waiting for their first record

    def hosts(self, run_id: str) -> bool:
        """True while ``run_id`` is a live run of this host."""
        return run_id in self._active

    def active(self, pipeline: str | None = None) -> list[str]:
        """Ids of the live hosted runs (of one pipeline)."""
        return [
            run_id
            for run_id, live in self._active.items()
            if pipeline is None or live.name == pipeline
        ]

    async def start(
        self,
        name: str,
        *,
        parameters: dict[str, Any] | None = None,
        trigger: str = "api",
        run_id: str | None = None,
    ) -> str:
        """Start a run of pipeline ``name``; return its id once its record is in the store.

        ``parameters`` (``{"node.arg": value}``, as ``--set``) come from the
        server's side (a schedule), never from an HTTP client; ``trigger`` is
        recorded with the run; ``run_id`` is its id (default: a new one; a
        schedule's claim chooses it). Raises KeyError for an unknown
        pipeline, :class:`Busy` when ``max_active`` runs are live, ValueError
        or SpecError for parameters that do not fit, StoreError when its
        record cannot be written (then nothing runs).
        """
        hosted = self.pipelines[name]
        if len(self._active) + self._starting >= self.max_active:
            raise Busy(
                f"{self.max_active} hosted runs are live already (the most this server runs)"
            )
        data = hosted.with_parameters(parameters)
        plumber = hosted.plumber(data)
        cycles = Cycles(plumber)
        first = run_id or new_run_id()

        def record(cycle: int) -> Recording:
            return self.recorder.record(
                plumber,
                pipeline=name,
                spec=data,
                parameters=parameters,
                spec_path=str(hosted.path.resolve()),
                trigger=trigger,
                run_id=first if cycle == 1 else None,
                cycle_of=None if cycles.once else first,
                cycle=None if cycles.once else cycle,
            )

        recording = record(1)
        # The record is in the store before the run starts (as `pipelines run` does);
        # meanwhile its slot is taken, so concurrent starts stay within max_active.
        self._starting += 1
        try:
            await asyncio.wrap_future(recording.written)
        except BaseException:
            recording.finish()
            raise
        finally:
            self._starting -= 1
        live = _Live(name, plumber, cycles, recording.id)
        self._active[recording.id] = live
        live.task = asyncio.get_running_loop().create_task(
            self._run(live, record), name=f"pipelines-hosted:{recording.id}"
        )
        return recording.id

    async def _run(self, live: _Live, record: Callable[[int], Recording]) -> None:
        async def next_cycle(cycle: int) -> None:
            recording = record(cycle)
            try:
                await asyncio.wrap_future(recording.written)
            except BaseException:
                recording.finish()
                raise
            # The live entry follows the run of the current cycle (stop, hosted, active).
            self._active.pop(live.run_id, None)
            live.run_id = recording.id
            self._active[recording.id] = live

        live.cycles.before_cycle = next_cycle
        try:
            await live.cycles.run()
        except Exception as exc:  # recorded by the run's own events; the server goes on
            log.info(
                "pipelines: hosted run %s ended with %s: %s", live.run_id, type(exc).__name__, exc
            )
        finally:
            self._active.pop(live.run_id, None)
            if self.on_end is not None:
                self.on_end(live.name)

    def stop(self, run_id: str, drain: bool = True) -> bool:
        """Ask a live hosted run to drain (sources stop, items in flight finish; no further
        cycle starts); ``drain=False`` cancels it. False if it is not live."""
        live = self._active.get(run_id)
        if live is None:
            return False
        live.cycles.stop(drain=drain)
        return True

    async def close(self, timeout: float = 10.0) -> None:
        """Drain every live run; cancel what has not ended after ``timeout`` seconds."""
        entries = list(self._active.values())
        for live in entries:
            live.cycles.stop(drain=True)
        tasks = [live.task for live in entries if live.task is not None]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for live in entries:
            if live.task in pending:
                live.cycles.stop(drain=False)
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
