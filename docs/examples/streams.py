"""Functions of the examples in docs/operators.md (tests/docs/test_operators_doc.py runs them)."""

from __future__ import annotations

from statistics import mean


async def numbers(n):
    """0, 1, ..., n - 1."""
    for i in range(n):
        yield i


async def sum_batch(xs):
    """A batch function: one result per list, its sum."""
    return [sum(xs)]


CLICKS = [
    {"at": 1, "user": "ann"},
    {"at": 3, "user": "bob"},
    {"at": 4, "user": "ann"},
    {"at": 12, "user": "ann"},
    {"at": 2, "user": "bob"},  # out of order, within the lateness: counted
    {"at": 18, "user": "bob"},  # watermark 13: the windows [0, 10) close
    {"at": 6, "user": "ann"},  # its window has closed: late, dropped
    {"at": 31, "user": "ann"},
]


async def clicks():
    """Click events, each with its own time (event time)."""
    for click in CLICKS:
        yield click


def at(click):
    """A click's event time."""
    return click["at"]


def user(event):
    """The user of an event (a click, an order, a customer record)."""
    return event["user"]


async def describe(window):
    """A window as text: key, bounds, size (or folded value)."""
    size = window.value if window.value is not None else len(window.items)
    return f"{window.key} [{window.start:g}, {window.end:g}): {size}"


async def readings():
    for value in (2, 4, 6, 8):
        yield value


async def average(window):
    return mean(window.items)


VISITS = [{"user": "bob", "at": 5}] + [{"user": "ann", "at": t} for t in (0, 10, 25, 100, 110)]


async def visits():
    for visit in VISITS:
        yield visit


async def words():
    for word in ("apple", "bee", "avocado", "cat", "bird", "ant"):
        yield word


def first_letter(word):
    return word[0]


def plus_one(count, _item):
    return count + 1


async def orders():
    for order in (
        {"id": 1, "user": "ann"},
        {"id": 2, "user": "zed"},
        {"id": 3, "user": "bob"},
        {"id": 4, "user": "ann"},
    ):
        yield order


async def users():
    for record in ({"user": "ann", "name": "Ann"}, {"user": "bob", "name": "Bob"}):
        yield record


async def enrich(pair):
    """A join's function gets (left, right): here (order, user record)."""
    order, record = pair
    return f"order {order['id']}: {record['name']}"


async def sensor():
    """A fast source: ten readings at once."""
    for value in range(10):
        yield value


async def show(value):
    return value
