"""``pipelines runs logs ID``: the run-log records saved with a recorded run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.text import Text

from ..store import MAX_RECORDS, RunLogs
from .output import console
from .reading import find_run, reading_store
from .recording import STORE_OPTION

__all__ = ["LEVEL_STYLES", "log_lines", "logs"]

#: Colour of each level.
LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red"}


def log_lines(saved: RunLogs) -> list[Text]:
    """One line per record (``time LEVEL [node] message``), then what the bounds left out."""
    lines = []
    for entry in saved.entries:
        moment = dt.datetime.fromtimestamp(entry.time).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        line = Text(f"{moment} ")
        line.append(f"{entry.level:<8}", style=LEVEL_STYLES.get(entry.level, ""))
        if entry.node is not None:
            line.append(f" [{entry.node}]", style="cyan")
        line.append(f" {entry.message}")
        lines.append(line)
    if saved.dropped:
        lines.append(
            Text(
                f"{saved.dropped} more records were not kept"
                f" (the store keeps the first {MAX_RECORDS:,} of a run)",
                style="yellow",
            )
        )
    if saved.truncated:
        lines.append(Text(f"{saved.truncated} messages were cut", style="yellow"))
    return lines


@click.command(
    epilog="""\b
Examples:
  pipelines runs logs 3f2a9c1b0d4e
  pipelines runs logs 3f2a                 # a unique prefix is enough
  pipelines runs logs 3f2a --json | jq '.logs[].message'""",
)
@click.argument("run_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON (the API's form).")
@STORE_OPTION
def logs(run_id: str, as_json: bool, store_path: Path | None) -> None:
    """Show the run-log records (get_run_logger(), INFO and up) saved with one run."""
    store = reading_store(store_path)
    try:
        record = find_run(store, run_id, store_path)
        assert store is not None, "find_run exits when there is no store"
        saved = store.logs(record.id) or RunLogs(record.id, [])
    finally:
        if store is not None:
            store.close()
    if as_json:
        click.echo(json.dumps(saved.as_json(), indent=2))
        return
    out = console()
    if not saved.entries and not saved.dropped:
        out.print(Text(f"run {record.id} has no log records"))
        return
    for line in log_lines(saved):
        out.print(line, soft_wrap=True)
