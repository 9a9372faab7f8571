"""``pipelines serve``: the dashboard, the HTTP API and ``/metrics`` of a run store."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import click

from ..errors import SpecError
from ..schedule.scheduler import DEFAULT_POLL
from ..schedule.watchdog import DEFAULT_INTERVAL
from ..server import DEFAULT_HOST, DEFAULT_PORT, BindError, Server, check_binding, load_hosted
from ..server.security import TOKEN_ENV
from .output import EXIT_INTERRUPTED, EXIT_USAGE, fail, spec_failure
from .recording import STORE_OPTION, open_store

__all__ = ["serve"]


@click.command(
    epilog=f"""\b
Examples:
  pipelines serve                                 # http://127.0.0.1:{DEFAULT_PORT}
  pipelines serve etl.yaml report.yaml            # and host these two pipelines
  PIPELINES_TOKEN=... pipelines serve --host 0.0.0.0 etl.yaml
  pipelines serve demos/etl/etl_scheduled.yaml    # runs its schedule: every 10 s

\b
Binding to anything but a loopback address needs a token (--token or
{TOKEN_ENV}, 16 characters or more); clients then send
'Authorization: Bearer TOKEN'. The first Ctrl-C (or SIGTERM) lets hosted
runs drain, then stops. The schedule: of the hosted specs runs here (its
state is kept in the store, so a restart continues it), and the watchdog
checks every run of the store.""",
)
@click.argument(
    "specs",
    nargs=-1,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="[SPEC]...",
)
@STORE_OPTION
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    metavar="TOKEN",
    help=f"Require 'Authorization: Bearer TOKEN' (also from {TOKEN_ENV}, which keeps it out of ps).",
)
@click.option(
    "--worker-name",
    metavar="NAME",
    help="This server's name in the worker registry [default: host:pid].",
)
@click.option(
    "--schedules/--no-schedules",
    default=True,
    show_default=True,
    help="Run the schedule: of the hosted specs.",
)
@click.option(
    "--schedule-poll",
    type=click.FloatRange(0.05, 3600),
    default=DEFAULT_POLL,
    show_default=True,
    envvar="PIPELINES_SCHEDULE_POLL",
    metavar="SECONDS",
    help="Longest time between two looks at the schedules (queued runs start within it).",
)
@click.option(
    "--watchdog-interval",
    type=click.FloatRange(0, 3600),
    default=DEFAULT_INTERVAL,
    show_default=True,
    envvar="PIPELINES_WATCHDOG_INTERVAL",
    metavar="SECONDS",
    help="Time between two watchdog checks of the store's runs (0: no watchdog).",
)
def serve(
    specs: tuple[Path, ...],
    store_path: Path | None,
    host: str,
    port: int,
    token: str | None,
    worker_name: str | None,
    schedules: bool,
    schedule_poll: float,
    watchdog_interval: float,
) -> None:
    """Serve the dashboard, the JSON API and /metrics; host the pipelines of SPEC files and
    run their schedules and the watchdog."""
    try:
        check_binding(host, token or None)
    except BindError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        hosted = load_hosted(list(specs))
    except SpecError as exc:
        spec_failure(exc)
    store = open_store(store_path)
    server = Server(
        store,
        hosted,
        host=host,
        port=port,
        token=token or None,
        worker_name=worker_name,
        schedules=schedules,
        schedule_poll=schedule_poll,
        watchdog_interval=watchdog_interval or None,
    )
    try:
        asyncio.run(_serve(server))
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)
    except KeyboardInterrupt:  # a Ctrl-C before the signal handlers were in place
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        store.close()


async def _serve(server: Server) -> None:
    await server.start()
    names = ", ".join(p.name for p in server.pipelines) or "none"
    click.echo(f"serving {server.store.path} on {server.url} (hosting: {names}; Ctrl-C to stop)")
    if server.scheduler is not None:
        plans = ", ".join(
            f"{entry.name} {entry.spec.describe()}" + ("" if entry.spec.enabled else " (disabled)")
            for entry in server.scheduler.entries.values()
        )
        click.echo(f"schedules: {plans}")
    sys.stdout.flush()  # seen at once, even through a pipe
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        await stop.wait()
        click.echo("stopping: letting hosted runs drain", err=True)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()
