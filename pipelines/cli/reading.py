"""Reading the run store for a command: never creating it, always crash-checked first."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import click

from ..store import RunRecord, Store, StoreError, default_path
from .output import EXIT_USAGE, fail

__all__ = ["find_run", "read_run", "reading_store", "store_path"]


def reading_store(path: Path | None) -> Store | None:
    """The store to read, or None when it does not exist yet (reading never creates it).

    ``path`` None: the ``--store`` given to the parent command (``pipelines
    runs --store X show ID``), else the default. Before reading, crash
    detection runs, so what is shown is current.
    """
    target = store_path(path)
    if not target.expanduser().exists():
        return None
    try:
        store = Store.open(target)
    except StoreError as exc:
        fail(str(exc), EXIT_USAGE)
    with contextlib.suppress(sqlite3.OperationalError):  # read-only: show it as it is
        store.reap()
    return store


def store_path(path: Path | None) -> Path:
    """``path``, else the parent command's ``--store``, else the default store."""
    if path is not None:
        return path
    ctx = click.get_current_context(silent=True)
    parent = ctx.parent if ctx is not None else None
    inherited = parent.params.get("store_path") if parent is not None else None
    return inherited if inherited is not None else default_path()


def read_run(run_id: str, path: Path | None) -> RunRecord:
    """The run ``run_id`` (or a unique prefix) from the store at ``path``, which is closed
    again; exit 2 saying why when there is no such run."""
    store = reading_store(path)
    try:
        return find_run(store, run_id, path)
    finally:
        if store is not None:
            store.close()


def find_run(store: Store | None, run_id: str, path: Path | None) -> RunRecord:
    """The run with id ``run_id`` (or a unique prefix of it), or exit 2 saying why."""
    where = store_path(path)
    record = store.run(run_id) if store is not None else None
    if record is None and store is not None:
        matches = store.find(run_id)
        if len(matches) == 1:
            record = store.run(matches[0])
        elif len(matches) > 1:
            fail(f"run id {run_id!r} is ambiguous: {', '.join(matches)}", EXIT_USAGE)
    if record is None:
        fail(f"no run {run_id!r} in {where}", EXIT_USAGE)
    return record
