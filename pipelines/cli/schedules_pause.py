"""``pipelines schedules pause NAME`` and ``resume NAME``: stop and restart a schedule's runs
without editing its spec or stopping the server that runs it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from ..store import schedules as book
from ..store.schedule_records import ScheduleRow
from .output import EXIT_USAGE, fail
from .reading import reading_store
from .reading import store_path as resolve
from .recording import STORE_OPTION

__all__ = ["pause", "resume"]


def _set_paused(name: str, paused: bool, store_path: Path | None) -> ScheduleRow:
    store = reading_store(store_path)
    if store is None:
        fail(f"no schedule {name!r} in {resolve(store_path)}", EXIT_USAGE)
    try:
        with store.transaction() as conn:
            row = book.set_paused(conn, name, paused, store.clock.time())
    except sqlite3.Error as exc:
        fail(f"cannot write to the run store {store.path}: {exc}", 1)
    finally:
        store.close()
    if row is None:
        fail(f"no schedule {name!r} in {resolve(store_path)}", EXIT_USAGE)
    return row


@click.command(
    epilog="""\b
Examples:
  pipelines schedules pause etl
  pipelines schedules resume etl

While paused, every occurrence is skipped with the reason `paused` (visible in
`pipelines schedules show`), queued ones too; nothing is caught up on resume.
The pause is kept in the store: restarting `pipelines serve` keeps it paused.""",
)
@click.argument("name", metavar="NAME")
@STORE_OPTION
def pause(name: str, store_path: Path | None) -> None:
    """Pause a schedule: its occurrences start no runs until it is resumed."""
    row = _set_paused(name, True, store_path)
    click.echo(f"paused {row.name}: its occurrences are skipped until `pipelines schedules resume`")


@click.command(
    epilog="""\b
Examples:
  pipelines schedules resume etl""",
)
@click.argument("name", metavar="NAME")
@STORE_OPTION
def resume(name: str, store_path: Path | None) -> None:
    """Resume a paused schedule: its next occurrence starts a run again."""
    row = _set_paused(name, False, store_path)
    note = "" if row.enabled else " (its spec says enabled: false, so it still runs nothing)"
    click.echo(f"resumed {row.name}{note}")
