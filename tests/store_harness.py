"""Fixtures shared by the store and schedule tests: a real SQLite store file and foreground
recorders, both on the ``clock`` fixture of the test's folder (a VirtualClock).

Imported by those folders' conftest.py files, which each define ``clock``.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from pipelines.store import Recorder, Store


@pytest.fixture
def store(tmp_path, clock):
    with Store(tmp_path / "runs.db", clock=clock) as s:
        yield s


@pytest.fixture
async def recorders(store, clock):
    """Make foreground recorders on the virtual clock (``run=False``: registered, never beating,
    like a killed process); the running ones are closed at the end."""
    made: list[tuple[Recorder, asyncio.Task[None] | None]] = []

    def make(*, run: bool = True, **options) -> Recorder:
        options.setdefault("heartbeat", 5.0)
        options.setdefault("keep", 0)
        recorder = Recorder(store, clock=clock, background=False, **options).start()
        task = asyncio.get_running_loop().create_task(recorder.run()) if run else None
        made.append((recorder, task))
        return recorder

    yield make
    for recorder, task in made:
        if task is not None:
            recorder.close()
            with contextlib.suppress(asyncio.CancelledError):
                await task
