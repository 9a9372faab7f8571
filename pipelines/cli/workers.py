"""``pipelines workers``: the live workers, from their heartbeats in Redis."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import click
from rich.table import Table

from .output import EXIT_FAILED, console, fail, jsonable

__all__ = ["workers"]


@click.command(
    epilog="""\b
Examples:
  pipelines workers --redis redis://10.0.0.5:6379/0
  pipelines workers --redis redis://10.0.0.5:6379/0 --json

A worker is listed while its heartbeat lives (three heartbeat intervals after
its last one); a worker that stops normally leaves the list at once.""",
)
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    envvar="PIPELINES_REDIS",
    required=True,
    help="Redis URL (redis://HOST:PORT/DB); default: $PIPELINES_REDIS.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the workers as a JSON list.")
def workers(redis_url: str, as_json: bool) -> None:
    """List the live workers: name, host, pid, spec, nodes, runs, last heartbeat."""
    from redis.exceptions import RedisError  # only this command loads the Redis client

    from ..runtime.distributed.connection import redact

    try:
        found = asyncio.run(_list(redis_url))
    except (RedisError, OSError, ValueError) as exc:
        fail(f"cannot read workers from Redis at {redact(redis_url)}: {exc}", EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(jsonable(found), indent=2))
        return
    if not found:
        click.echo("no live worker")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("name", "host", "pid", "spec", "nodes", "runs", "heartbeat"):
        table.add_column(column, justify="right" if column == "pid" else "left")
    now = time.time()
    for w in found:
        beat = w.get("beat")
        age = f"{max(0.0, now - beat):.1f} s ago" if isinstance(beat, int | float) else "?"
        table.add_row(
            str(w.get("name", "?")),
            str(w.get("host", "?")),
            str(w.get("pid", "?")),
            str(w.get("spec", "?")),
            ", ".join(map(str, w.get("nodes") or [])) or "-",
            str(len(w.get("runs") or [])),
            age,
        )
    console().print(table)


async def _list(url: str) -> list[dict[str, Any]]:
    from ..runtime.distributed import list_workers
    from ..runtime.distributed.connection import connect

    redis = connect(url, reconnect=2.0)
    try:
        return await list_workers(redis.client)
    finally:
        await redis.close()
