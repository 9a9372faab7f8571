"""Running the clients' graphs: one :class:`~pipelines.Plumber` per accepted message.

:func:`build_plumber` turns a message into a Plumber (admission limits,
sanitising, the engine's validation, the output meter); :class:`Runs` starts
it, keeps it per client, stops it, and reports how it ended through an
:class:`Answers` (the server's way of talking to the client).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipelines import PipelineError, Plumber, Problem, RunResult, SpecError

from .limits import Limits, OutputLimitExceeded, OutputMeter, Refused, check_limits
from .registry import registry_lookup
from .sanitize import sanitize

__all__ = ["Answers", "RunEvent", "Runs", "build_plumber"]

log = logging.getLogger("pipelines.demo.server")


def build_plumber(
    data: Any,
    limits: Limits,
    env_vars: dict[str, Any],
    registry: Mapping[str, Callable[..., Any]],
) -> Plumber:
    """Check, sanitise, validate a client's message; return a Plumber or raise :class:`Refused`.

    Every function of the graph is wrapped in one :class:`OutputMeter` (the
    run's production budget).
    """
    check_limits(data, limits)
    spec, problems = sanitize(data, limits)
    if not isinstance(data, Mapping):
        raise Refused("spec", problems)
    meter = OutputMeter(limits.max_result_bytes, limits.max_run_bytes)
    try:
        plumber = Plumber(spec, coro_map=registry_lookup(registry, meter.wrap), env_vars=env_vars)
    except SpecError as exc:
        problems.extend(exc.problems)
    if problems:
        raise Refused("spec", problems)
    return plumber


@dataclass(frozen=True, slots=True)
class RunEvent:
    """What :meth:`Runs.subscribe` callbacks receive.

    ``kind`` is ``started`` or ``finished``; for ``finished``, ``outcome`` is
    ``completed``, ``stopped`` (client gone or server shutting down),
    ``failed``, ``limit`` (it produced more than the limits allow),
    ``timeout`` or ``cancelled`` (stopped before it started), and ``result``
    the :class:`~pipelines.RunResult` (also the partial one of a failed run).
    """

    kind: str
    sid: str
    run_id: int
    outcome: str | None = None
    result: RunResult | None = None


class Answers(Protocol):
    """How :class:`Runs` talks to a client (implemented by the demo server)."""

    async def error(
        self,
        sid: str,
        run_id: int | None,
        kind: str,
        message: str,
        *,
        node: str | None = None,
        item: str | None = None,
    ) -> None: ...

    async def send(self, event: str, data: Any, sid: str) -> None: ...


@dataclass(eq=False)
class _Run:
    sid: str
    run_id: int
    plumber: Plumber
    task: asyncio.Task[None] | None = None
    stop_reason: str | None = None
    outcome: str | None = None
    result: RunResult | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Runs:
    """The graphs running now, per client; at most ``limits.max_graphs_per_client`` each."""

    def __init__(self, limits: Limits, answers: Answers) -> None:
        self.limits = limits
        self.answers = answers
        self._runs: dict[str, dict[int, _Run]] = {}
        self._ids = itertools.count(1)
        self._listeners: list[Callable[[RunEvent], Any]] = []

    def running(self, sid: str | None = None) -> list[Plumber]:
        """The Plumbers of the graphs running now, for one client or for all."""
        groups = [self._runs.get(sid, {})] if sid is not None else list(self._runs.values())
        return [run.plumber for group in groups for run in group.values()]

    def subscribe(self, callback: Callable[[RunEvent], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` when a graph starts or finishes; returns an unsubscriber."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _notify(self, event: RunEvent) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                log.exception("demo server: a run listener failed")

    def start(self, sid: str, plumber: Plumber) -> None:
        """Start ``plumber`` for ``sid``; raise :class:`Refused` past the per-client limit.

        Synchronous on purpose: nothing can slip in between the caller's
        checks and the run being registered.
        """
        runs = self._runs.setdefault(sid, {})
        if len(runs) >= self.limits.max_graphs_per_client:
            raise Refused(
                "limit",
                [
                    Problem(
                        "",
                        f"{len(runs)} graphs running for this client; "
                        f"at most {self.limits.max_graphs_per_client} at once",
                    )
                ],
            )
        run = _Run(sid, next(self._ids), plumber)
        runs[run.run_id] = run
        run.task = asyncio.get_running_loop().create_task(
            self._execute(run), name=f"demo:{sid}:{run.run_id}"
        )
        run.task.add_done_callback(lambda _: self._finished(run))
        log.info("client %s: graph %d started", sid, run.run_id)
        self._notify(RunEvent("started", sid, run.run_id))

    async def _execute(self, run: _Run) -> None:
        sid, answers = run.sid, self.answers
        try:
            async with asyncio.timeout(self.limits.max_run_seconds):
                result = await run.plumber.run()
        except PipelineError as exc:
            run.result = exc.result
            if isinstance(exc.__cause__, OutputLimitExceeded):
                run.outcome = "limit"
                message = f"graph stopped: node {exc.node!r} {exc.__cause__}"
                await answers.error(sid, run.run_id, "limit", message, node=exc.node, item=exc.item)
            else:
                run.outcome = "failed"
                await answers.error(
                    sid, run.run_id, "failed", str(exc), node=exc.node, item=exc.item
                )
            return
        except TimeoutError:
            run.outcome = "timeout"
            await answers.error(
                sid,
                run.run_id,
                "timeout",
                f"graph stopped: it ran longer than {self.limits.max_run_seconds:g} s",
            )
            return
        run.result = result
        if result.status == "completed":
            run.outcome = "completed"
            await answers.send(
                "pipeline_done",
                {
                    "run": run.run_id,
                    "status": result.status,
                    "duration": result.duration,
                    "stats": {name: stats.as_dict() for name, stats in result.stats.items()},
                },
                sid,
            )
        else:
            run.outcome = "stopped"
            if run.stop_reason == "shutdown":
                await answers.error(
                    sid, run.run_id, "server", "graph stopped: the server is shutting down"
                )

    def _finished(self, run: _Run) -> None:
        group = self._runs.get(run.sid)
        if group is not None:
            group.pop(run.run_id, None)
            if not group:
                del self._runs[run.sid]
        if run.outcome is None:
            run.outcome = "cancelled"
        run.done.set()
        log.info("client %s: graph %d %s", run.sid, run.run_id, run.outcome)
        self._notify(RunEvent("finished", run.sid, run.run_id, run.outcome, run.result))

    async def stop_client(self, sid: str, reason: str) -> int:
        """Stop every graph of ``sid``; return how many were running."""
        runs = list(self._runs.get(sid, {}).values())
        await asyncio.gather(*(self._stop(run, reason) for run in runs))
        return len(runs)

    async def stop_all(self, reason: str) -> None:
        """Stop every graph of every client."""
        runs = [run for group in self._runs.values() for run in group.values()]
        await asyncio.gather(*(self._stop(run, reason) for run in runs))

    async def _stop(self, run: _Run, reason: str) -> None:
        """Stop one run and return when its task has ended."""
        run.stop_reason = reason
        if run.plumber.running:
            await run.plumber.stop(drain=False)
        elif run.task is not None and not run.task.done():
            run.task.cancel()  # not started yet, or past run() and emitting
        await run.done.wait()
