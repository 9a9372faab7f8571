"""The operator options are validated with key paths, all problems at once, like every option."""

from __future__ import annotations

import textwrap
import uuid

import pytest

from pipelines import Plumber, SpecError
from pipelines.spec.operators import (
    BatchOption,
    JoinOption,
    RateOption,
    ReduceOption,
    WindowOption,
)


async def keep(x):
    return x


def by_first(x):
    return x[0]


def _problems(spec) -> list[str]:
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    return [str(p) for p in caught.value.problems]


def _one(options, inputs=1):
    """A node ``n`` with ``options``, fed by ``inputs`` sources."""
    sources = {f"s{i}": {"coro": [1, 2]} for i in range(inputs)}
    return {
        "nodes": {**sources, "n": {"coro": keep, **options}},
        "graph": {**{name: ["n"] for name in sources}, "n": None},
    }


@pytest.mark.parametrize(
    ("options", "problems"),
    [
        ({"batch": 5}, ["nodes.n.batch: must be a mapping (size and optionally timeout), got 5"]),
        ({"batch": {}}, ["nodes.n.batch.size: missing: a batch needs a size (items per call)"]),
        (
            {"batch": {"size": 0, "timeout": -1, "every": 2}},
            [
                "nodes.n.batch.every: unknown key (known: size, timeout)",
            ],
        ),
        (
            {"batch": {"size": 0, "timeout": -1}},
            [
                "nodes.n.batch.size: must be an integer from 1 to 1,000,000, got 0",
                "nodes.n.batch.timeout: must be a number of seconds > 0 and at most "
                "31,536,000 or null, got -1",
            ],
        ),
        (
            {"window": {}},
            [
                "nodes.n.window: needs exactly one of count (items), seconds (time) or gap "
                "(sessions), got none"
            ],
        ),
        (
            {"window": {"count": 3, "seconds": 2}},
            [
                "nodes.n.window: needs exactly one of count (items), seconds (time) or gap "
                "(sessions), got count, seconds"
            ],
        ),
        (
            {"window": {"count": 3, "slide": 4}},
            ["nodes.n.window.slide: must be an integer from 1 to count (3), got 4"],
        ),
        (
            {"window": {"count": 5000, "slide": 1}},
            [
                "nodes.n.window.slide: puts each item in 5,000 windows; at most 1,000 "
                "(make slide larger, or the window shorter)"
            ],
        ),
        (
            {"window": {"seconds": 10, "slide": 20}},
            ["nodes.n.window.slide: must be at most seconds (10): every item falls in a window"],
        ),
        (
            {"window": {"gap": 5, "slide": 1}},
            ["nodes.n.window.slide: session windows (gap) do not slide"],
        ),
        (
            {"window": {"count": 5, "time": "x:y"}},
            [
                "nodes.n.window.time: count windows do not use time; time applies to seconds "
                "or gap windows"
            ],
        ),
        (
            {"window": {"seconds": 5, "lateness": 2}},
            [
                "nodes.n.window.lateness: lateness needs time (a function giving each item's "
                "event time)"
            ],
        ),
        (
            {"window": {"seconds": 5, "time": by_first, "lateness": -1, "max_pending": 0}},
            [
                "nodes.n.window.lateness: must be a number of seconds >= 0 and at most "
                "31,536,000, got -1",
                "nodes.n.window.max_pending: must be an integer from 1 to 10,000,000, got 0",
            ],
        ),
        (
            {"key": 3},
            ["nodes.n.key: must be an import string 'module:function' or a callable, got 3"],
        ),
        (
            {"reduce": {"initial": 0}},
            ["nodes.n.reduce.fn: missing: reduce needs fn, called as fn(accumulator, item)"],
        ),
        (
            {"overflow": "drop"},
            ["nodes.n.overflow: must be one of block, drop_oldest, drop_newest, got 'drop'"],
        ),
        (
            {"rate": "100"},
            ["nodes.n.rate: must be a rate like '100/s', '30/min' or '5/h', got '100'"],
        ),
        (
            {"rate": "100/day"},
            ["nodes.n.rate: must be a rate like '100/s', '30/min' or '5/h', got '100/day'"],
        ),
        (
            {"rate": "0/s"},
            ["nodes.n.rate: the number of calls must be > 0 and at most 1,000,000,000, got '0/s'"],
        ),
        (
            {"rate": {"limit": "5/s", "burst": 0, "jitter": 1}},
            [
                "nodes.n.rate.jitter: unknown key (known: limit, burst)",
            ],
        ),
        (
            {"rate": {"burst": 0}},
            [
                "nodes.n.rate.limit: missing: a rate like '100/s'",
                "nodes.n.rate.burst: must be an integer from 1 to 1,000,000, got 0",
            ],
        ),
        (
            {"batch": {"size": 2}, "key": by_first, "window": {"count": 2}},
            [
                "nodes.n.batch: cannot be combined with window (for groups per key, use "
                "window: {count: N} with key)",
                "nodes.n.batch: cannot be combined with key (for groups per key, use "
                "window: {count: N} with key)",
            ],
        ),
    ],
)
def test_bad_operator_options_are_reported_at_their_key(options, problems):
    assert _problems(_one(options)) == problems


def test_join_needs_two_zipped_inputs_and_no_other_operator():
    assert _problems(_one({"join": {"key": by_first}}, inputs=1)) == [
        "nodes.n.join: a join takes exactly two graph inputs (left and right, in the order "
        "their nodes appear as keys of graph); this node has 1"
    ]
    assert _problems(_one({"join": {"key": by_first}}, inputs=3))[0].endswith("this node has 3")
    assert _problems(_one({"join": {"key": by_first}, "aggregate_inputs": False}, inputs=2)) == [
        "nodes.n.aggregate_inputs: a join takes its two inputs apart (left, right); leave "
        "aggregate_inputs true"
    ]
    assert _problems(
        _one({"join": {"key": by_first, "within": 0}, "window": {"count": 2}}, inputs=2)
    ) == [
        "nodes.n.join.within: must be a number of seconds > 0 and at most 31,536,000 or null, "
        "got 0",
    ]
    assert _problems(_one({"join": {"key": by_first}, "reduce": {"fn": max}}, inputs=2)) == [
        "nodes.n.join: cannot be combined with reduce (a join takes its key in join.key)"
    ]
    assert _problems(_one({"join": {"within": 5}}, inputs=2)) == [
        "nodes.n.join.key: missing: a join needs key, a function of an item of either input"
    ]


def test_operators_on_a_source_are_problems():
    spec = {
        "nodes": {
            "src": {"coro": [1], "batch": {"size": 2}, "rate": "1/s"},
            "out": {"coro": keep},
        },
        "graph": {"src": ["out"], "out": None},
    }
    assert _problems(spec) == [
        "nodes.src.batch: a source has no input; batch applies to nodes with inputs",
        "nodes.src.rate: a source has no input; rate applies to nodes with inputs",
    ]


def test_functions_are_resolved_like_coro_and_key_functions_must_be_plain():
    async def async_key(x):
        return x

    assert _problems(
        _one(
            {
                "key": "no_such_module_xyz:fn",
                "window": {"seconds": 5, "time": async_key},
                "reduce": {"fn": "operator:no_such"},
            }
        )
    ) == [
        "nodes.n.key: cannot import 'no_such_module_xyz:fn': no module named 'no_such_module_xyz'",
        "nodes.n.window.time: <function test_functions_are_resolved_like_coro_and_key_functions_"
        "must_be_plain.<locals>.async_key at "
        + _problems(_one({"window": {"seconds": 5, "time": async_key}}))[0].split(" at ")[1],
        "nodes.n.reduce.fn: cannot import 'operator:no_such': 'operator' has no attribute "
        "'no_such'",
    ]


def test_a_coro_map_resolves_the_named_functions_too():
    names = {"keep": keep, "first": by_first, "add": lambda a, b: a + b}
    spec = _one({"key": "first", "reduce": {"fn": "add"}})
    spec["nodes"]["n"]["coro"] = "keep"
    spec["nodes"]["s0"]["coro"] = [[1, 2]]
    plumber = Plumber(spec, coro_map=lambda name: names[name] if isinstance(name, str) else name)
    assert plumber.plan.nodes["n"].functions == {"key": by_first, "reduce.fn": names["add"]}


def test_reduce_and_join_nodes_may_leave_out_coro_others_may_not():
    spec = _one({"reduce": {"fn": max}})
    del spec["nodes"]["n"]["coro"]
    assert Plumber(spec).plan.nodes["n"].signature.name == "as_is"
    spec = _one({"reduce": {"fn": max}, "window": {"count": 2}})
    del spec["nodes"]["n"]["coro"]
    assert Plumber(spec).plan.nodes["n"].signature.name == "key_value"
    spec = _one({"window": {"count": 2}})
    del spec["nodes"]["n"]["coro"]
    assert _problems(spec) == ["nodes.n.coro: missing: every node needs a coro"]


def test_node_only_options_in_defaults_say_so():
    spec = _one({})
    spec["defaults"] = {"overflow": "drop_oldest", "batch": {"size": 2}}
    assert _problems(spec) == ["defaults.batch: cannot be set in defaults: set it on each node"]
    del spec["defaults"]["batch"]
    assert Plumber(spec).plan.nodes["n"].options.overflow == "drop_oldest"


def test_valid_options_become_typed_values():
    spec = _one(
        {
            "key": by_first,
            "window": {"seconds": 10, "slide": 5, "time": by_first, "lateness": 2},
            "reduce": {"fn": max, "initial": 0},
            "rate": {"limit": "30/min", "burst": 4},
            "overflow": "drop_newest",
        }
    )
    options = Plumber(spec).plan.nodes["n"].options
    assert options.window == WindowOption(seconds=10.0, slide=5.0, time=by_first, lateness=2.0)
    assert options.reduce == ReduceOption(max, 0, True)
    assert options.rate == RateOption(30.0, 60.0, 4, "30/min")
    assert options.rate.interval == 2.0
    assert options.notes() == [
        "window 10 s, slide 5 s, event time by_first, lateness 2 s",
        "key by_first",
        "reduce max",
        "rate 30/min, burst 4",
    ]
    batch = _one({"batch": {"size": 8, "timeout": 0.5}})
    assert Plumber(batch).plan.nodes["n"].options.batch == BatchOption(8, 0.5)
    join = _one({"join": {"key": "operator:itemgetter", "within": 60}}, inputs=2)
    assert Plumber(join).plan.nodes["n"].options.join == JoinOption(
        "operator:itemgetter", 60.0, 100_000
    )
    assert Plumber(join).plan.nodes["n"].options.notes() == [
        "join on operator:itemgetter within 60 s"
    ]


async def test_a_spec_file_resolves_its_functions_beside_it(tmp_path, monkeypatch):
    name = f"opfuncs_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            async def numbers():
                for i in range(6):
                    yield i

            def parity(x):
                return x % 2

            def add(acc, x):
                return acc + x
            """
        )
    )
    (tmp_path / "spec.yaml").write_text(
        textwrap.dedent(
            f"""
            nodes:
              src: {{coro: "{name}:numbers"}}
              sum: {{key: "{name}:parity", reduce: {{fn: "{name}:add"}}, collect: true}}
            graph: {{src: [sum], sum: null}}
            """
        )
    )
    monkeypatch.chdir(tmp_path.parent)  # not the folder of the functions
    result = await Plumber.from_file(tmp_path / "spec.yaml").run()
    assert result.outputs["sum"] == [(0, 6), (1, 9)]
