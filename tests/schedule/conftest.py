"""Fixtures of the schedule tests: a real store file on a virtual clock starting at DAY0."""

from __future__ import annotations

import pytest
from schedule_harness import DAY0

from pipelines.store import Store
from pipelines.testing import VirtualClock


@pytest.fixture
def clock():
    return VirtualClock(start=DAY0)


@pytest.fixture
def store(tmp_path, clock):
    with Store(tmp_path / "runs.db", clock=clock) as s:
        yield s


@pytest.fixture
async def recorders(store, clock):
    """Foreground recorders on the virtual clock (``run=False``: registered, never beating,
    like a killed process); the running ones are closed at the end."""
    import asyncio
    import contextlib

    from pipelines.store import Recorder

    made = []

    def make(*, run: bool = True, **options):
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
