"""Spec validation: every problem found before running, all at once, each with its key path."""

from __future__ import annotations

import re

import pytest

from pipelines import Plumber, Problem, SpecError

calls: list = []


async def work(item):
    calls.append(item)
    return item


async def pair(item, factor):
    return item * factor


async def rig(self, output_q, num):
    for i in range(num):
        await output_q.put(i)


def _spec(**changes):
    spec = {
        "nodes": {"src": {"coro": [1, 2, 3]}, "a": {"coro": work}, "b": {"coro": work}},
        "graph": {"src": ["a"], "a": ["b"], "b": None},
    }
    for key, value in changes.items():
        spec[key] = value
    return spec


def _problems(spec, **kwargs) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        Plumber(spec, **kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert all(isinstance(p, Problem) for p in err.problems)
    for p in err.problems:
        assert f"{p.path}: {p.message}" in str(err)
    paths = [p.path for p in err.problems]
    assert len(paths) == len(set(paths)), f"one problem per key expected: {err.problems}"
    return {p.path: p.message for p in err.problems}


def test_a_valid_spec_builds_without_calling_anything():
    calls.clear()
    plumber = Plumber(_spec())
    assert [p.name for p in plumber.nodes] == ["src", "a", "b"]
    assert calls == []


def test_spec_error_is_a_value_error_with_problems():
    with pytest.raises(ValueError):
        Plumber({"nodes": {}, "graph": {}})


def test_unknown_node_named_as_an_output():
    problems = _problems(_spec(graph={"src": ["a"], "a": ["nope"], "b": None}))
    assert set(problems) >= {"graph.a"}
    assert "'nope'" in problems["graph.a"]


def test_unknown_node_as_a_graph_key():
    spec = _spec(graph={"src": ["a"], "a": ["b"], "b": None, "ghost": ["a"]})
    problems = _problems(spec)
    assert list(problems) == ["graph.ghost"]
    assert "'ghost'" in problems["graph.ghost"]


def test_node_missing_from_graph():
    problems = _problems(_spec(graph={"src": ["a"], "a": ["b"]}))
    assert list(problems) == ["graph.b"]
    assert "'b'" in problems["graph.b"] and "missing" in problems["graph.b"]


def test_missing_coro():
    spec = _spec()
    spec["nodes"]["a"] = {"args": {}}
    problems = _problems(spec)
    assert list(problems) == ["nodes.a.coro"]
    assert "missing" in problems["nodes.a.coro"]


def test_import_string_of_a_missing_function():
    spec = _spec()
    spec["nodes"]["a"] = {"coro": "os.path:no_such_function_here"}
    problems = _problems(spec)
    assert list(problems) == ["nodes.a.coro"]
    assert "os.path:no_such_function_here" in problems["nodes.a.coro"]


def test_import_string_of_a_missing_module():
    spec = _spec()
    spec["nodes"]["a"] = {"coro": "no_such_module_xyz_123:func"}
    problems = _problems(spec)
    assert list(problems) == ["nodes.a.coro"]
    assert "no_such_module_xyz_123" in problems["nodes.a.coro"]


async def test_import_string_resolves_module_functions_and_class_methods():
    from engine_funcs.strings import StringFunc, random_strings

    spec = {
        "nodes": {
            "src": {"coro": "engine_funcs.strings:StringFunc.input_str", "args": {"num": 2}},
            "rev": {"coro": "engine_funcs.strings:StringFunc.reverse", "collect": True},
        },
        "graph": {"src": ["rev"], "rev": None},
    }
    plumber = Plumber(spec)
    assert plumber.nodes[1].processor_coro == StringFunc.reverse
    result = await plumber.run()
    assert result.outputs["rev"] == [s[::-1] for s in random_strings(2)]


def test_name_without_coro_map_is_unresolvable():
    spec = _spec()
    spec["nodes"]["a"] = {"coro": "StringFunc.reverse"}
    problems = _problems(spec)
    assert list(problems) == ["nodes.a.coro"]
    assert "StringFunc.reverse" in problems["nodes.a.coro"]


def test_coro_map_failure_is_reported_on_the_node():
    names = {"numbers": [1, 2], "work": work}
    spec = {
        "nodes": {
            "src": {"coro": "numbers"},
            "ok": {"coro": "work"},
            "a": {"coro": "unknown-name"},
        },
        "graph": {"src": ["ok"], "ok": ["a"], "a": None},
    }
    problems = _problems(spec, coro_map=lambda name: names[name])
    assert list(problems) == ["nodes.a.coro"]
    assert "unknown-name" in problems["nodes.a.coro"]


def test_args_that_do_not_fit_the_signature():
    spec = _spec()
    spec["nodes"]["a"] = {"coro": work, "args": {"unexpected": 1}}
    spec["nodes"]["b"] = {"coro": pair}  # 'factor' missing
    problems = _problems(spec)
    assert set(problems) == {"nodes.a.args", "nodes.b.args"}
    assert "unexpected" in problems["nodes.a.args"]
    assert "factor" in problems["nodes.b.args"]


def test_args_of_an_upstream_source_are_checked():
    spec = {
        "nodes": {"src": {"coro": rig, "args": {"count": 3}}, "a": {"coro": work}},
        "graph": {"src": ["a"], "a": None},
    }
    problems = _problems(spec)
    assert list(problems) == ["nodes.src.args"]


def test_args_that_fit_are_accepted():
    spec = {
        "nodes": {
            "src": {"coro": rig, "args": {"num": 3}},
            "a": {"coro": pair, "args": {"factor": 2}},
        },
        "graph": {"src": ["a"], "a": None},
    }
    Plumber(spec)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("concurrency", 0),
        ("concurrency", "two"),
        ("concurrency", True),
        ("concurrency", 1.5),
        ("queue_size", -1),
        ("queue_size", "big"),
        ("retries", -1),
        ("retry_delay", -0.5),
        ("backoff", 0.5),
        ("timeout", 0),
        ("timeout", -1),
        ("ordered", "yes"),
        ("collect", 1),
        ("executor", "gpu"),
        ("on_error", "no_such_node"),
        ("on_error", ""),
    ],
)
def test_bad_option_values_name_the_option(option, value):
    spec = _spec()
    spec["nodes"]["a"][option] = value
    problems = _problems(spec)
    assert list(problems) == [f"nodes.a.{option}"]
    assert repr(value) in problems[f"nodes.a.{option}"] or option == "on_error"


def test_bad_aggregate_inputs_property():
    spec = _spec()
    spec["nodes"]["b"]["properties"] = {"aggregate_inputs": "no"}
    assert list(_problems(spec)) == ["nodes.b.properties.aggregate_inputs"]


def test_unknown_option_is_a_problem():
    spec = _spec()
    spec["nodes"]["a"]["concurency"] = 2
    problems = _problems(spec)
    assert list(problems) == ["nodes.a.concurency"]
    assert "concurrency" in problems["nodes.a.concurency"]  # a suggestion


def test_a_cycle_is_rejected_with_its_nodes_named():
    spec = {
        "nodes": {
            "src": {"coro": [1]},
            "a": {"coro": work},
            "b": {"coro": work},
            "c": {"coro": work},
        },
        "graph": {"src": ["a"], "a": ["b"], "b": ["c"], "c": ["a"]},
    }
    with pytest.raises(SpecError) as info:
        Plumber(spec)
    (problem,) = info.value.problems
    assert "cycle" in problem.message
    words = set(re.findall(r"\w+", problem.message))
    assert {"a", "b", "c"} <= words
    assert "src" not in words


def test_a_self_loop_is_a_cycle():
    spec = {
        "nodes": {"src": {"coro": [1]}, "a": {"coro": work}},
        "graph": {"src": ["a"], "a": ["a"]},
    }
    with pytest.raises(SpecError) as info:
        Plumber(spec)
    assert len(info.value.problems) == 1
    assert "cycle" in info.value.problems[0].message
    assert "a" in re.findall(r"\w+", info.value.problems[0].message)


def test_several_problems_are_reported_together():
    spec = {
        "nodes": {
            "src": {"coro": [1, 2]},
            "a": {"coro": "os.path:nonexistent_fn"},
            "b": {"coro": work, "concurrency": 0},
            "c": {"coro": pair, "args": {"nope": 1}},
            "d": {"coro": work},
        },
        "graph": {"src": ["a", "ghost"], "a": ["b"], "b": ["c"], "c": ["d"]},
    }
    problems = _problems(spec)
    assert set(problems) == {
        "graph.src",
        "graph.d",
        "nodes.a.coro",
        "nodes.b.concurrency",
        "nodes.c.args",
    }
    assert "(5 problems)" in str(SpecError([Problem(p, m) for p, m in problems.items()]))


def test_a_cycle_is_reported_together_with_other_problems():
    spec = {
        "nodes": {"src": {"coro": [1]}, "a": {"coro": work, "retries": -2}, "b": {"coro": work}},
        "graph": {"src": ["a"], "a": ["b"], "b": ["a"]},
    }
    with pytest.raises(SpecError) as info:
        Plumber(spec)
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 2
    assert any(p.path == "nodes.a.retries" for p in info.value.problems)
    assert any("cycle" in m for m in messages)


def test_spec_must_be_a_mapping_with_nodes_and_graph():
    with pytest.raises(SpecError) as info:
        Plumber({"nodes": {"a": {"coro": [1]}}})
    assert "graph" in [p.path for p in info.value.problems]
    with pytest.raises(SpecError):
        Plumber([("a", "b")])  # type: ignore[arg-type]


def test_unknown_top_level_key():
    spec = _spec()
    spec["grpah"] = {}
    assert list(_problems(spec)) == ["grpah"]


def test_output_listed_twice_is_a_problem():
    problems = _problems(_spec(graph={"src": ["a", "a"], "a": ["b"], "b": None}))
    assert list(problems) == ["graph.src"]


def test_a_non_callable_non_iterable_coro_is_a_problem():
    spec = _spec()
    spec["nodes"]["a"] = {"coro": 42}
    assert list(_problems(spec)) == ["nodes.a.coro"]


def test_an_iterable_cannot_be_a_transform():
    spec = _spec()
    spec["nodes"]["a"] = {"coro": [1, 2]}
    assert list(_problems(spec)) == ["nodes.a.coro"]


def test_dead_letter_node_with_zipped_inputs_is_a_problem():
    spec = {
        "nodes": {
            "s1": {"coro": [1]},
            "s2": {"coro": [2]},
            "w": {"coro": work, "on_error": "dlq"},
            "dlq": {"coro": work},
        },
        "graph": {"s1": ["w", "dlq"], "s2": ["dlq"], "w": None, "dlq": None},
    }
    assert list(_problems(spec)) == ["nodes.dlq.properties.aggregate_inputs"]


def test_process_executor_rejects_async_functions():
    spec = _spec()
    spec["nodes"]["a"]["executor"] = "process"
    assert list(_problems(spec)) == ["nodes.a.executor"]


def test_a_plain_def_upstream_source_is_rejected_before_running():
    """An upstream rig awaits output_q.put(...): a plain def cannot, and this is known up front."""

    def sync_rig(self, output_q):
        calls.append("ran")

    calls.clear()
    spec = {
        "nodes": {"rig": {"coro": sync_rig}, "a": {"coro": work}},
        "graph": {"rig": ["a"], "a": None},
    }
    problems = _problems(spec)
    assert list(problems) == ["nodes.rig.coro"]
    assert calls == []
