"""Property tests of the operators over random inputs, each from a dict and from a spec file.

A count window's outputs concatenated equal the input; a keyed reduce equals a
dict-based reference; a join equals a nested-loop join of the same inputs; a
chain of batch nodes keeps every item, in order.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import Plumber
from pipelines.spec.loader import load_file

pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
)

SPECS = Path(__file__).resolve().parents[2] / "specs" / "operators"
SETTINGS = settings(
    max_examples=int(os.environ.get("PIPELINES_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FROM = pytest.mark.parametrize("origin", ["dict", "file"])


async def values(items):
    for item in items:
        yield item


async def keep(unit):
    return unit


def first(pair):
    return pair[0]


def add_value(acc, pair):
    return acc + pair[1]


async def as_lists(xs):
    return [list(xs)]


async def inc_all(xs):
    return [x + 1 for x in xs]


def _file(name: str, sources: dict[str, list[Any]], **options: Any) -> Plumber:
    """The spec file ``name``, its sources given ``items``, ``options`` set on its nodes."""
    path = SPECS / name
    data = copy.deepcopy(load_file(path))
    for source, items in sources.items():
        data["nodes"][source]["args"] = {"items": items}
    for node, extra in options.items():
        data["nodes"][node].update(extra)
    return Plumber(data, base_dir=SPECS, source=str(path))


def _run(plumber: Plumber):
    async def main():
        async with asyncio.timeout(30):
            return await plumber.run()

    return asyncio.run(main())


small_ints = st.lists(st.integers(-50, 50), max_size=60)
pairs = st.lists(st.tuples(st.integers(0, 5), st.integers(-20, 20)), max_size=40)


@FROM
@SETTINGS
@given(items=small_ints, count=st.integers(1, 7), queue_size=st.sampled_from([1, 2, 1024]))
def test_count_windows_concatenated_equal_the_input(origin, items, count, queue_size):
    window = {"count": count}
    if origin == "dict":
        spec = {
            "nodes": {
                "src": {"coro": values, "args": {"items": items}},
                "windows": {
                    "coro": keep,
                    "window": window,
                    "collect": True,
                    "queue_size": queue_size,
                },
            },
            "graph": {"src": ["windows"], "windows": None},
        }
        plumber = Plumber(spec)
    else:
        plumber = _file(
            "count_windows.yaml",
            {"src": items},
            windows={"window": window, "queue_size": queue_size},
        )
    windows = _run(plumber).outputs["windows"]
    assert [item for w in windows for item in w.items] == items
    assert all(len(w.items) == count for w in windows[:-1])
    assert [(w.start, w.end) for w in windows] == [
        (i, min(i + count, len(items))) for i in range(0, len(items), count)
    ]


@FROM
@SETTINGS
@given(items=pairs, concurrency=st.sampled_from([1, 3]))
def test_keyed_reduce_equals_a_dict_reference(origin, items, concurrency):
    reference: dict[int, int] = {}
    for key, value in items:
        reference[key] = reference.get(key, 0) + value
    if origin == "dict":
        spec = {
            "nodes": {
                "src": {"coro": values, "args": {"items": items}},
                "sums": {
                    "coro": keep,
                    "key": first,
                    "reduce": {"fn": add_value, "initial": 0},
                    "collect": True,
                    "concurrency": concurrency,
                },
            },
            "graph": {"src": ["sums"], "sums": None},
        }
        plumber = Plumber(spec)
    else:
        plumber = _file("keyed_reduce.yaml", {"src": items}, sums={"concurrency": concurrency})
    result = _run(plumber)
    assert result.outputs["sums"] == list(reference.items())  # first-seen key order


@FROM
@SETTINGS
@given(left=pairs, right=pairs, queue_size=st.sampled_from([1, 3, 1024]))
def test_join_equals_a_nested_loop_join(origin, left, right, queue_size):
    reference = Counter((a, b) for a in left for b in right if a[0] == b[0])
    if origin == "dict":
        spec = {
            "nodes": {
                "left": {"coro": values, "args": {"items": left}},
                "right": {"coro": values, "args": {"items": right}},
                "pairs": {"join": {"key": first}, "collect": True, "queue_size": queue_size},
            },
            "graph": {"left": ["pairs"], "right": ["pairs"], "pairs": None},
        }
        plumber = Plumber(spec)
    else:
        plumber = _file(
            "join.yaml", {"left": left, "right": right}, pairs={"queue_size": queue_size}
        )
    result = _run(plumber)
    got = Counter((tuple(a), tuple(b)) for a, b in result.outputs["pairs"])
    assert got == reference
    matched = {k for k, _ in left} & {k for k, _ in right}
    unmatched = sum(1 for k, _ in left + right if k not in matched)
    assert result.stats["pairs"].dropped == unmatched


@FROM
@SETTINGS
@given(items=small_ints, queue_size=st.sampled_from([1, 5, 1024]))
def test_a_chain_of_batch_nodes_keeps_every_item_in_order(origin, items, queue_size):
    if origin == "dict":
        spec = {
            "nodes": {
                "src": {"coro": values, "args": {"items": items}},
                "a": {"coro": inc_all, "batch": {"size": 4}},
                "b": {
                    "coro": as_lists,
                    "batch": {"size": 3},
                    "collect": True,
                    "queue_size": queue_size,
                },
            },
            "graph": {"src": ["a"], "a": ["b"], "b": None},
        }
        plumber = Plumber(spec)
    else:
        plumber = _file("batch_chain.yaml", {"src": items}, b={"queue_size": queue_size})
    result = _run(plumber)
    expected = [x + 1 for x in items]
    assert result.outputs["b"] == [expected[i : i + 3] for i in range(0, len(expected), 3)]
