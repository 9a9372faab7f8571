"""Functions of the operator spec files (tests/runtime/operators/test_properties.py)."""


async def values(items):
    """A source: the items it is given (set per example by the test)."""
    for item in items:
        yield item


async def keep(unit):
    return unit


def first(pair):
    return pair[0]


def add_value(acc, pair):
    """Fold a (key, value) pair into a sum."""
    return acc + pair[1]


async def as_lists(xs):
    """One result per call: the list the call got."""
    return [list(xs)]


async def inc_all(xs):
    return [x + 1 for x in xs]
