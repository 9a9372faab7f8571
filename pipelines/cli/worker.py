"""``pipelines worker``: serve a spec's nodes for every run of it, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import SpecError
from .loading import SPEC_ARG
from .output import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    fail,
    logging_to_console,
    spec_failure,
)

if TYPE_CHECKING:
    from ..runtime.distributed import Worker

__all__ = ["worker"]


@click.command(
    epilog="""\b
Examples:
  pipelines worker graph.yaml --redis redis://10.0.0.5:6379/0
  pipelines worker graph.yaml --redis redis://10.0.0.5:6379/0 --nodes parse,score --name gpu-1

Start as many as you like, on any machine that has the spec file and its
functions: each is a replica of the nodes it serves. Sources run where the run
starts (`pipelines run graph.yaml --redis URL`). The first Ctrl-C (or SIGTERM)
finishes the batches in hand and stops (exit 0); a second one stops at once
(exit 130; what it held is taken over by the other workers).""",
)
@SPEC_ARG
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    envvar="PIPELINES_REDIS",
    help="Redis URL (redis://HOST:PORT/DB); default: $PIPELINES_REDIS, then the spec's transport.redis.",
)
@click.option(
    "--nodes",
    metavar="A,B",
    help="Serve only these nodes (comma-separated); default: every node but the sources.",
)
@click.option("--name", metavar="NAME", help="This worker's name (default: host-pid).")
@click.option("-v", "--verbose", is_flag=True, help="Show debug messages.")
def worker(
    spec: Path, redis_url: str | None, nodes: str | None, name: str | None, verbose: bool
) -> None:
    """Serve the nodes of SPEC for every run of it (started with --redis), until stopped."""
    # Imported here: the other commands never load the Redis client.
    from redis.exceptions import RedisError

    from ..runtime.distributed import Worker
    from ..runtime.distributed.connection import redact

    chosen = [n.strip() for n in nodes.split(",") if n.strip()] if nodes else None
    try:
        serving = Worker(spec, redis_url, nodes=chosen, name=name)
    except SpecError as exc:
        spec_failure(exc)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    with logging_to_console(verbose) as handler:
        logging.getLogger("pipelines").setLevel(logging.DEBUG if verbose else logging.INFO)
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        try:
            forced = asyncio.run(_serve(serving))
        except ConnectionError as exc:  # Redis did not answer at all
            fail(str(exc), EXIT_FAILED)
        except (RedisError, OSError) as exc:
            fail(f"lost Redis at {redact(serving.url)}: {exc}", EXIT_FAILED)
    if forced:
        raise SystemExit(EXIT_INTERRUPTED)


async def _serve(serving: Worker) -> bool:
    """Run the worker; the first SIGINT/SIGTERM drains it, a second stops it. True if forced."""
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            click.echo(
                "stopping: finishing the batches in hand (Ctrl-C again to stop at once)", err=True
            )
        serving.request_stop(drain=signals == 1)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        await serving.run()
    except asyncio.CancelledError:
        if signals < 2:
            raise
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    return signals >= 2
