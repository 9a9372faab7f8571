"""The events demo: per-user click counts over 10-second windows, joined to user records.

A simulated click stream (``clicks``: event time in ``at``, some events
arriving late) is counted per user in tumbling 10-second windows of event
time (``window`` + ``key`` + ``reduce``); each count is joined to the
user's record from a reference stream (``join``), and the report keeps one
line per user and window. Meanwhile ``archive`` stores the clicks in lists
(``batch``), at most 10 calls a second (``rate``), dropping the oldest
clicks rather than slowing the stream if it falls behind (``overflow``).
Run it with::

    pipelines run demos/events/spec.yaml
"""

from __future__ import annotations

import random
from typing import Any

#: The reference stream: who the users are. "u6" clicks but has no record.
USERS = [
    {"user": "u1", "name": "Ann", "plan": "pro"},
    {"user": "u2", "name": "Bob", "plan": "free"},
    {"user": "u3", "name": "Cid", "plan": "free"},
    {"user": "u4", "name": "Dee", "plan": "pro"},
    {"user": "u5", "name": "Eve", "plan": "team"},
]
PAGES = ("/", "/pricing", "/docs", "/blog", "/signup")


def simulate(seconds: int, per_second: int, late_share: float, seed: int) -> list[dict[str, Any]]:
    """The click events in the order they arrive, each with its event time ``at``.

    Clicks of second ``s`` have ``at`` in ``[s, s + 1)``; a ``late_share``
    of them arrive 1 to 4 seconds after their time (network delay), so they
    come after newer clicks, and the latest ones miss their window.
    """
    rng = random.Random(seed)
    users = [u["user"] for u in USERS] + ["u6"]
    arriving: list[tuple[float, int, dict[str, Any]]] = []
    for second in range(seconds):
        for i in range(per_second):
            at = round(second + rng.random(), 3)
            delay = rng.uniform(1, 4) if rng.random() < late_share else 0.0
            click = {"at": at, "user": rng.choice(users), "page": rng.choice(PAGES)}
            arriving.append((at + delay, len(arriving) + i, click))
    arriving.sort(key=lambda entry: entry[:2])
    return [click for _, _, click in arriving]


async def clicks(
    processor: Any,
    seconds: int = 60,
    per_second: int = 20,
    late_share: float = 0.05,
    speed: float = 10.0,
    seed: int = 7,
) -> Any:
    """A source: the simulated clicks, paced on the run's clock (``speed`` event seconds per second)."""
    clock = processor.clock
    start = clock.monotonic()
    for click in simulate(seconds, per_second, late_share, seed):
        due = start + int(click["at"]) / speed  # a second of events at a time
        if due > clock.monotonic():
            await clock.sleep_until(due)
        yield click


async def users() -> Any:
    """A source: the reference records."""
    for record in USERS:
        yield record


def at(click: dict[str, Any]) -> float:
    """A click's event time."""
    return float(click["at"])


def user(event: dict[str, Any]) -> str:
    """The user of a click, a count or a record (the window key and the join key)."""
    return str(event["user"])


def plus_one(count: int, _click: Any) -> int:
    return count + 1


async def as_count(window: Any) -> dict[str, Any]:
    """A closed window of one user as a count record."""
    return {"user": window.key, "start": window.start, "end": window.end, "clicks": window.value}


async def store(batch: list[dict[str, Any]]) -> list[int]:
    """Archive a list of clicks (here: say how many; a real one would write them out)."""
    return [len(batch)]


async def report(pair: tuple[dict[str, Any], dict[str, Any]]) -> str:
    """A count joined to its user's record, as a report line."""
    count, record = pair
    return (
        f"{count['start']:g}-{count['end']:g} s: {record['name']} ({record['plan']}) "
        f"{count['clicks']} clicks"
    )
