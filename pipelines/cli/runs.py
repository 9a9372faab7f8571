"""``pipelines runs``: list recorded runs; ``show``, ``logs``, ``diagram`` and ``prune`` are its
subcommands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..store import RUN_STATUSES
from .output import console
from .reading import reading_store
from .reading import store_path as resolve
from .recording import STORE_OPTION
from .run_tables import runs_table, workers_table
from .runs_diagram import diagram
from .runs_logs import logs
from .runs_prune import prune
from .runs_show import show

__all__ = ["runs"]


@click.group(
    invoke_without_command=True,
    epilog="""\b
Examples:
  pipelines runs
  pipelines runs --pipeline etl --status failed --limit 5
  pipelines runs --json | jq '.runs[0].id'
  pipelines runs show 3f2a9c1b0d4e
  pipelines runs logs 3f2a
  pipelines runs diagram 3f2a -o run.svg
  pipelines runs prune --keep 100""",
)
@click.option("--pipeline", metavar="NAME", help="Only runs of this pipeline.")
@click.option("--status", type=click.Choice(RUN_STATUSES), help="Only runs with this status.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="How many runs to list.",
)
@click.option("--workers", "with_workers", is_flag=True, help="Also list the workers.")
@click.option("--json", "as_json", is_flag=True, help="Print {'runs': [...]} as JSON.")
@STORE_OPTION
@click.pass_context
def runs(
    ctx: click.Context,
    pipeline: str | None,
    status: str | None,
    limit: int,
    with_workers: bool,
    as_json: bool,
    store_path: Path | None,
) -> None:
    """List recorded runs, newest first (id, pipeline, status, start, duration, items, worker)."""
    if ctx.invoked_subcommand is not None:
        return
    store = reading_store(store_path)
    found = store.runs(pipeline=pipeline, status=status, limit=limit) if store else []
    workers = store.workers() if store and with_workers else []
    if store is not None:
        store.close()
    if as_json:
        data: dict[str, object] = {"runs": [run.as_json() for run in found]}
        if with_workers:
            data["workers"] = [worker.as_json() for worker in workers]
        click.echo(json.dumps(data, indent=2))
        return
    out = console()
    if not found:
        out.print(f"no runs recorded in {resolve(store_path)}", markup=False, highlight=False)
    else:
        out.print(runs_table(found))
    if with_workers:
        out.print(workers_table(workers))


runs.add_command(show)
runs.add_command(logs)
runs.add_command(diagram)
runs.add_command(prune)
