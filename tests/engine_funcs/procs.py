"""Module-level functions for ``executor: process`` nodes (picklable by reference)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def pid_of(item: int) -> tuple[int, int]:
    """Return the item and the id of the process that ran the call."""
    return item, os.getpid()


def square(item: int) -> int:
    return item * item


def mark_then_sleep(item: int, marker_dir: str) -> int:
    """Leave a marker file saying the call started, then block far longer than a test."""
    Path(marker_dir, f"started-{item}").write_text(str(os.getpid()))
    time.sleep(30)
    return item


def window_size(window) -> tuple[object, int, int]:
    """A window node's function run in a worker process: the Window pickles."""
    return window.key, len(window.items), os.getpid()


def batch_squares(xs: list[int]) -> list[int]:
    """A batch node's function run in a worker process."""
    return [x * x for x in xs]


def uses_db(item: int, db: object) -> int:
    """A process function declaring a run resource (which cannot travel to a process)."""
    return item
