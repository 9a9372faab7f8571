"""``pipelines schedules``: each schedule's next run, last run and last status; ``show NAME``
lists every occurrence's fate (started, queued, skipped and why, late)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..store import schedules as book
from ..store.schedule_records import Occurrence, ScheduleRecord, ScheduleRow
from .output import EXIT_USAGE, console, fail
from .reading import reading_store
from .reading import store_path as resolve
from .recording import STORE_OPTION
from .run_tables import RUN_STATUS_STYLES, when
from .schedules_pause import pause, resume

__all__ = ["occurrences_table", "schedules", "schedules_table", "show"]

_FATE_STYLES = {"skipped": "yellow", "queued": "cyan", "late": "magenta"}


def _outcome(occurrence: Occurrence | None) -> Text:
    if occurrence is None:
        return Text("")
    shown = occurrence.outcome
    style = RUN_STATUS_STYLES.get(shown, _FATE_STYLES.get(occurrence.fate, ""))
    return Text(shown, style=style)


def _off(row: ScheduleRow) -> str:
    if not row.enabled:
        return " (disabled)"
    return " (paused)" if row.paused_at is not None else ""


def _server(record: ScheduleRecord) -> Text:
    if record.worker is None:
        return Text("")
    return Text(f"{record.worker} ({record.worker_status})")


def schedules_table(records: list[ScheduleRecord]) -> Table:
    """One row per schedule: when, next run, last run, last status, queue, its server."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    for heading in ("schedule", "when", "next run", "last run", "last status", "queued", "server"):
        table.add_column(heading, no_wrap=True, justify="right" if heading == "queued" else "left")
    for record in records:
        row = record.row
        last_run = record.last_run
        table.add_row(
            Text(row.name),
            Text(row.description + _off(row)),
            Text(when(row.next_at) if row.runs else ""),
            Text(f"{when(last_run.due_at)}  {last_run.run_id}" if last_run else ""),
            _outcome(record.last),
            Text(str(record.queued)),
            _server(record),
        )
    return table


def occurrences_table(found: list[Occurrence]) -> Table:
    """One row per occurrence (or range of skips), newest first: time, fate, reason, run."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    for heading in ("time", "fate", "reason", "run", "run status"):
        table.add_column(heading, no_wrap=True)
    for occurrence in found:
        moment = when(occurrence.due_at)
        if occurrence.last_due != occurrence.due_at:
            count = "many" if occurrence.count is None else f"{occurrence.count:,}"
            moment += f" .. {when(occurrence.last_due)} ({count})"
        status = occurrence.run_status or ""
        table.add_row(
            Text(moment),
            Text(occurrence.fate, style=_FATE_STYLES.get(occurrence.fate, "")),
            Text(occurrence.reason or ""),
            Text(occurrence.run_id or ""),
            Text(status, style=RUN_STATUS_STYLES.get(status, "")),
        )
    return table


@click.group(
    invoke_without_command=True,
    epilog="""\b
Examples:
  pipelines schedules
  pipelines schedules --json | jq '.schedules[].next_at'
  pipelines schedules show etl --limit 20
  pipelines schedules pause etl

Schedules are the `schedule:` of the specs `pipelines serve` hosts; the store
keeps each one's next occurrence and every occurrence's fate.""",
)
@click.option("--json", "as_json", is_flag=True, help="Print {'schedules': [...]} as JSON.")
@STORE_OPTION
@click.pass_context
def schedules(ctx: click.Context, as_json: bool, store_path: Path | None) -> None:
    """List schedules: when they run, next run, last run and last status, queue, server."""
    if ctx.invoked_subcommand is not None:
        return
    store = reading_store(store_path)
    found = book.list_records(store.connection(), recent=5 if as_json else 0) if store else []
    if store is not None:
        store.close()
    if as_json:
        click.echo(json.dumps({"schedules": [r.as_json() for r in found]}, indent=2))
        return
    if not found:
        console().print(
            f"no schedules in {resolve(store_path)} (pipelines serve SPEC runs the schedule:"
            " of its specs)",
            markup=False,
            highlight=False,
        )
        return
    console().print(schedules_table(found))


@schedules.command(
    epilog="""\b
Examples:
  pipelines schedules show etl
  pipelines schedules show etl --limit 200 --json""",
)
@click.argument("name", metavar="NAME")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="How many occurrences (or ranges of skips) to list.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the schedule as JSON.")
@STORE_OPTION
def show(name: str, limit: int, as_json: bool, store_path: Path | None) -> None:
    """Show one schedule and its latest occurrences, newest first."""
    store = reading_store(store_path)
    record = book.record(store.connection(), name, limit) if store is not None else None
    if store is not None:
        store.close()
    if record is None:
        fail(f"no schedule {name!r} in {resolve(store_path)}", EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(record.as_json(), indent=2))
        return
    console().print(Group(schedules_table([record]), occurrences_table(record.recent)))


schedules.add_command(pause)
schedules.add_command(resume)
