"""``pipelines watchdog``: end runs that run too long, stall or never start (``--once`` for cron)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path

import click

from ..schedule.watchdog import Report, Watchdog
from ..spec.durations import seconds_value
from ..spec.limits import WatchdogSpec
from ..store import StoreError
from .output import EXIT_INTERRUPTED, EXIT_USAGE, fail
from .reading import store_path as resolve
from .recording import STORE_OPTION, open_store

__all__ = ["watchdog"]


def _seconds(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return seconds_value(value, minimum=1.0)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_json()))
        return
    for verdict in report.verdicts:
        first, *rest = verdict.message.splitlines()
        click.echo(f"{verdict.status:<10} {verdict.run_id}  {verdict.pipeline}: {first}")
        for line in rest:
            click.echo(f"           {line}")
    counts = {status: 0 for status in ("timed_out", "stalled", "late", "crashed")}
    for verdict in report.verdicts:
        counts[verdict.status] = counts.get(verdict.status, 0) + 1
    done = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items())
    click.echo(
        f"checked {report.checked} running runs and {report.queued} queued occurrences: {done}"
    )


@click.command(
    epilog="""\b
Examples:
  pipelines watchdog --once                               # one check (cron, a CronJob)
  pipelines watchdog --once --run-timeout 2h --late-after 4h
  pipelines watchdog --interval 30s                       # check every 30 s until Ctrl-C

\b
Limits come from each run's spec (`watchdog:` run_timeout, stall_timeout,
late_after); the options are defaults for runs whose spec sets none. A run
timed out or stalled is stopped by the process that runs it at its next
heartbeat. Every change is conditional: a run that finished is never touched.
`pipelines serve` runs the same checks by itself.""",
)
@click.option("--once", is_flag=True, help="Check once and exit (else check every --interval).")
@click.option(
    "--interval",
    default="30s",
    show_default=True,
    callback=_seconds,
    metavar="DURATION",
    help="Time between two checks without --once.",
)
@click.option("--run-timeout", callback=_seconds, metavar="DURATION", help="Default run_timeout.")
@click.option(
    "--stall-timeout", callback=_seconds, metavar="DURATION", help="Default stall_timeout."
)
@click.option("--late-after", callback=_seconds, metavar="DURATION", help="Default late_after.")
@click.option("--pipeline", metavar="NAME", help="Only the runs of this pipeline.")
@click.option("--json", "as_json", is_flag=True, help="Print each check as one JSON line.")
@STORE_OPTION
def watchdog(
    once: bool,
    interval: float,
    run_timeout: float | None,
    stall_timeout: float | None,
    late_after: float | None,
    pipeline: str | None,
    as_json: bool,
    store_path: Path | None,
) -> None:
    """End runs that run too long (timed_out), move nothing (stalled) or never start (late)."""
    target = resolve(store_path)
    if not target.expanduser().exists():
        fail(f"no run store at {target}: nothing to watch", EXIT_USAGE)
    store = open_store(target)
    dog = Watchdog(
        store,
        defaults=WatchdogSpec(run_timeout, stall_timeout, late_after),
        pipeline=pipeline,
    )
    try:
        if once:
            _print(dog.check(), as_json)
        else:
            asyncio.run(_loop(dog, interval, as_json))
    except StoreError as exc:
        fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        store.close()


async def _loop(dog: Watchdog, interval: float, as_json: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        _print(await asyncio.to_thread(dog.check), as_json)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
