"""``pipelines runs prune``: delete old runs from the store by a stated policy."""

from __future__ import annotations

from pathlib import Path

import click

from ..store import parse_duration
from .reading import reading_store
from .recording import STORE_OPTION

__all__ = ["prune"]


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(
    epilog="""\b
Examples:
  pipelines runs prune --keep 100                 # the 100 newest runs of each pipeline stay
  pipelines runs prune --older-than 30d           # runs that ended over 30 days ago go
  pipelines runs prune --keep 10 --older-than 7d  # older than a week, but keep the last 10
  pipelines runs prune --keep 0 --pipeline etl --dry-run

A running run is never deleted. With both options a run goes only when both
say so. Workers that are offline and have no run left go too.""",
)
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    metavar="N",
    help="Keep the N newest runs of each pipeline.",
)
@click.option(
    "--older-than",
    "older_than",
    callback=_duration,
    metavar="DURATION",
    help="Delete runs that ended more than DURATION ago (90s, 30m, 12h, 7d, 2w).",
)
@click.option("--pipeline", metavar="NAME", help="Only runs of this pipeline.")
@click.option("--dry-run", is_flag=True, help="Say how many runs would go; delete nothing.")
@STORE_OPTION
def prune(
    keep: int | None,
    older_than: float | None,
    pipeline: str | None,
    dry_run: bool,
    store_path: Path | None,
) -> None:
    """Delete old runs (and their figures) from the run store."""
    if keep is None and older_than is None:
        raise click.UsageError("say what to prune: --keep N and/or --older-than DURATION")
    store = reading_store(store_path)
    if store is None:
        click.echo("no runs to prune")
        return
    try:
        gone = store.prune(keep=keep, older_than=older_than, pipeline=pipeline, dry_run=dry_run)
    finally:
        store.close()
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {len(gone)} run{'' if len(gone) == 1 else 's'}")
