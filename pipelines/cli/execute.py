"""Running a Plumber for the command: signals, the live view, the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from ..errors import PipelineError
from ..runtime.plumber import Plumber
from ..runtime.stats import RunResult
from .output import ConsoleHandler, console

if TYPE_CHECKING:
    from ..progress import LiveView

__all__ = ["execute", "with_stop_signals"]


def execute(
    plumber: Plumber, live: bool, handler: ConsoleHandler
) -> tuple[RunResult, BaseException | None]:
    """Run the graph with signal handling; return the result and the error that ended it, if any.

    A ``KeyboardInterrupt`` or ``SystemExit`` raised by a node (it carries
    ``pipelines_node``) ends the run as a failure of that node; a Ctrl-C of
    the user ends it as stopped.
    """
    started = time.monotonic()
    if live:
        from ..progress import LiveView

        view = LiveView(plumber, console())
        handler.console = view.console
        with view:
            outcome = _run_loop(plumber, view)
        handler.console = console(stderr=True)
    else:
        outcome = _run_loop(plumber, None)
    if isinstance(outcome, RunResult):
        return outcome, None
    if isinstance(outcome, PipelineError) and outcome.result is not None:
        return outcome.result, outcome
    # An interrupted (or unexpectedly failed) run has no RunResult: the nodes' figures so far.
    by_user = isinstance(outcome, KeyboardInterrupt) and not hasattr(outcome, "pipelines_node")
    partial = plumber.result_so_far("stopped" if by_user else "failed", started)
    return partial, None if by_user else outcome


def _run_loop(plumber: Plumber, view: LiveView | None) -> RunResult | BaseException:
    try:
        return asyncio.run(_run_with_signals(plumber, view))
    except (KeyboardInterrupt, SystemExit) as exc:
        # A Ctrl-C before the signal handlers were in place, or a node's own
        # KeyboardInterrupt/SystemExit once the run was torn down.
        return exc
    except Exception as exc:
        return exc


async def _run_with_signals(plumber: Plumber, view: LiveView | None) -> RunResult:
    """``plumber.run()``; the first SIGINT/SIGTERM drains the graph, the second stops it."""
    return await with_stop_signals(
        plumber.run,
        plumber.request_stop,
        view,
        "stopping: letting items in flight reach the sinks (Ctrl-C again to stop at once)",
    )


async def with_stop_signals(
    run: Callable[[], Awaitable[RunResult]],
    stop: Callable[[bool], None],
    view: LiveView | None,
    drain_message: str,
) -> RunResult:
    """Await ``run()``; the first SIGINT/SIGTERM calls ``stop(True)`` (a drain, saying
    ``drain_message``), a second one ``stop(False)``."""
    loop = asyncio.get_running_loop()
    received = 0

    def on_signal() -> None:
        nonlocal received
        received += 1
        drain = received == 1
        message = drain_message if drain else "stopping now"
        stop(drain)
        if view is not None:
            view.stopping(drain)
            view.console.print(f"[yellow]{message}[/]")
        else:
            click.echo(message, err=True)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers here
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        return await run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
