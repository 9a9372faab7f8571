"""Running a Plumber for the command: signals, the live view, the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import click
from rich.console import Console

from ..errors import PipelineError
from ..runtime.plumber import Plumber
from ..runtime.stats import RunResult
from .output import ConsoleHandler, console

__all__ = ["execute"]


def execute(
    plumber: Plumber, live: bool, handler: ConsoleHandler
) -> tuple[RunResult, BaseException | None]:
    """Run the graph with signal handling; return the result and the error that ended it, if any."""
    started = time.monotonic()
    if live:
        from ..progress import LiveView

        view = LiveView(plumber, console())
        handler.console = view.console
        with view:
            outcome = _run_loop(plumber, view.console)
        handler.console = console(stderr=True)
    else:
        outcome = _run_loop(plumber, None)
    if isinstance(outcome, RunResult):
        return outcome, None
    if isinstance(outcome, PipelineError) and outcome.result is not None:
        return outcome.result, outcome
    # An interrupted (or unexpectedly failed) run has no RunResult: the nodes' figures so far.
    status = "stopped" if isinstance(outcome, KeyboardInterrupt) else "failed"
    partial = plumber.result_so_far(status, started)
    return partial, None if isinstance(outcome, KeyboardInterrupt) else outcome


def _run_loop(plumber: Plumber, console: Console | None) -> RunResult | BaseException:
    try:
        return asyncio.run(_run_with_signals(plumber, console))
    except KeyboardInterrupt as exc:  # a Ctrl-C before the signal handlers were in place
        return exc
    except Exception as exc:
        return exc


async def _run_with_signals(plumber: Plumber, console: Console | None) -> RunResult:
    """``plumber.run()``; the first SIGINT/SIGTERM drains the graph, the second stops it."""
    loop = asyncio.get_running_loop()
    received = 0

    def on_signal() -> None:
        nonlocal received
        received += 1
        if received == 1:
            message = (
                "stopping: letting items in flight reach the sinks (Ctrl-C again to stop at once)"
            )
            plumber.request_stop(drain=True)
        else:
            message = "stopping now"
            plumber.request_stop(drain=False)
        if console is not None:
            console.print(f"[yellow]{message}[/]")
        else:
            click.echo(message, err=True)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers here
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        return await plumber.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
