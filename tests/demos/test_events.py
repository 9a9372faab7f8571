"""The events demo (demos/events/): windowed per-user counts joined to user records, end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

from pipelines import Plumber
from pipelines.testing import VirtualClock

DEMO = Path(__file__).resolve().parents[2] / "demos" / "events"
SPEC = DEMO / "spec.yaml"
LATENESS = 2
WINDOW = 10


def _module(plumber: Plumber) -> ModuleType:
    return sys.modules[plumber["clicks"].spec.coro.__module__]


def _reference(demo: ModuleType, **args):
    """What the report must hold, computed from the simulated stream without the engine."""
    seen_max = float("-inf")
    counts: Counter[tuple[float, str]] = Counter()
    first_seen: dict[str, int] = {}
    late = 0
    for click in demo.simulate(**args):
        at, user = click["at"], click["user"]
        first_seen.setdefault(user, len(first_seen))
        start = (at // WINDOW) * WINDOW
        if start + WINDOW <= seen_max - LATENESS:  # its window closed before it came
            late += 1
        else:
            counts[(start, user)] += 1
        seen_max = max(seen_max, at)
    records = {u["user"]: u for u in demo.USERS}
    order = sorted(counts, key=lambda k: (k[0], first_seen[k[1]]))
    lines = [
        f"{start:g}-{start + WINDOW:g} s: {records[user]['name']} ({records[user]['plan']}) "
        f"{counts[(start, user)]} clicks"
        for start, user in order
        if user in records
    ]
    unmatched = sum(1 for _, user in order if user not in records)
    return lines, late, unmatched


async def test_the_report_has_each_users_count_per_window_on_a_virtual_clock():
    clock = VirtualClock(start=0.0)
    plumber = Plumber.from_file(SPEC, clock=clock)
    demo = _module(plumber)
    lines, late, unmatched = _reference(demo, seconds=60, per_second=20, late_share=0.05, seed=7)
    task = asyncio.create_task(plumber.run())
    await clock.advance(5.85)  # 10x real time: the clicks of 58.x s are out, 59.x s not yet
    assert not task.done()
    # the watermark (about 56 s) has closed the windows up to [40, 50): 5 users x 5
    assert plumber["report"].collected == lines[:25]
    await clock.advance(1)
    async with asyncio.timeout(10):
        result = await task
    assert result.outputs["report"] == lines
    assert len(lines) == 30  # 5 users with records x 6 windows
    assert result.stats["clicks"].emitted == 1200
    assert result.stats["counts"].dropped == late
    assert late > 0
    assert result.stats["report"].dropped == unmatched == 6  # u6, who has no record
    archive = result.stats["archive"]
    assert (archive.received, archive.dropped) == (1200, 0)


def test_it_runs_from_the_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "run",
            str(SPEC),
            "--set",
            "clicks.speed=2000",
            "--set",
            "clicks.late_share=0.2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "completed"
    # event time: the same report whatever the real pace
    plumber = Plumber.from_file(SPEC)
    lines, late, unmatched = _reference(
        _module(plumber), seconds=60, per_second=20, late_share=0.2, seed=7
    )
    assert result["outputs"]["report"] == lines
    assert result["stats"]["counts"]["dropped"] == late
    assert result["stats"]["report"]["dropped"] == unmatched
    archive = result["stats"]["archive"]
    assert archive["received"] + archive["dropped"] == 1200  # nothing lost silently
