"""``pipelines runs show ID``: one recorded run with its per-node figures."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .output import console
from .reading import read_run
from .recording import STORE_OPTION
from .run_tables import run_detail

__all__ = ["show"]


@click.command(
    epilog="""\b
Examples:
  pipelines runs show 3f2a9c1b0d4e
  pipelines runs show 3f2a                 # a unique prefix is enough
  pipelines runs show 3f2a --json | jq .nodes""",
)
@click.argument("run_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON (the API's form).")
@STORE_OPTION
def show(run_id: str, as_json: bool, store_path: Path | None) -> None:
    """Show one run: status, times, worker, error, and a table of its nodes and edges."""
    record = read_run(run_id, store_path)
    if as_json:
        click.echo(json.dumps(record.as_json(detail=True), indent=2))
    else:
        console().print(run_detail(record))
