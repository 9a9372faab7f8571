"""``pipelines run`` of a spec with ``cycle:``: each cycle a recorded run, Ctrl-C ends them."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ..errors import PipelineError
from ..runtime.plumber import Plumber
from ..runtime.stats import RunResult
from ..schedule.cycles import Cycles
from .execute import with_stop_signals
from .output import ConsoleHandler, console

if TYPE_CHECKING:
    from rich.console import Console

    from .recording import RunRecording

__all__ = ["execute_cycles"]


def execute_cycles(
    plumber: Plumber,
    recording: RunRecording,
    live: bool,
    handler: ConsoleHandler,
    show: bool,
) -> tuple[RunResult, BaseException | None, list[dict[str, Any]]]:
    """Run the cycles of ``plumber`` with signal handling; return the last cycle's result, the
    error that ended the cycles (None: they ended normally or by Ctrl-C), and one entry per
    cycle (``cycle``, ``run_id``, ``status``, ``duration``). ``show``: print each cycle's
    summary as it ends.
    """
    done: list[dict[str, Any]] = []
    started = time.monotonic()
    out: Console = console()

    def after(index: int, result: RunResult | None, error: BaseException | None) -> None:
        if result is None and isinstance(error, PipelineError):
            result = error.result
        status = result.status if result is not None else "stopped"
        if error is not None and not isinstance(error, KeyboardInterrupt | asyncio.CancelledError):
            status = "failed"
        done.append(
            {
                "cycle": index,
                "run_id": recording.run_id,
                "status": status,
                "duration": result.duration if result is not None else None,
            }
        )
        recording.finish(result if result is not None else plumber.result_so_far(status), error)
        if show and result is not None:
            from ..progress import render_summary

            title = f"cycle {index}" + (f": run {recording.run_id}" if recording.run_id else "")
            out.print(title, markup=False, highlight=False)
            out.print(
                render_summary(
                    plumber.plan, result.stats, result.status, result.duration, result.outputs
                )
            )

    cycles = Cycles(plumber, before_cycle=recording.next_cycle, after_cycle=after)
    if live:
        from ..progress import LiveView

        view = LiveView(plumber, console())
        handler.console = view.console
        out = view.console
        with view:
            outcome = _loop(cycles, view)
        handler.console = console(stderr=True)
    else:
        outcome = _loop(cycles, None)
    if isinstance(outcome, RunResult):
        return outcome, None, done
    if isinstance(outcome, PipelineError) and outcome.result is not None:
        return outcome.result, outcome, done
    by_user = isinstance(outcome, KeyboardInterrupt) and not hasattr(outcome, "pipelines_node")
    partial = plumber.result_so_far("stopped" if by_user else "failed", started)
    return partial, None if by_user else outcome, done


def _loop(cycles: Cycles, view: Any) -> RunResult | BaseException:
    try:
        return asyncio.run(_with_signals(cycles, view))
    except (KeyboardInterrupt, SystemExit) as exc:
        return exc
    except Exception as exc:
        return exc


async def _with_signals(cycles: Cycles, view: Any) -> RunResult:
    """The cycles; the first SIGINT/SIGTERM lets the current cycle drain and starts no other,
    the second stops it at once."""
    return await with_stop_signals(
        cycles.run,
        lambda drain: cycles.stop(drain=drain),
        view,
        "stopping: the current cycle drains, no other starts (Ctrl-C again to stop at once)",
    )
