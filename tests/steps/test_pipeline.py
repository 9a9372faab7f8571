"""``pipelines.steps.Pipeline``: steps accumulate a dict, fail by name, run inside or outside
a loop, and a pipeline is a callable node of a graph."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pipelines import PipelineError, Plumber, SpecError
from pipelines.steps import Pipeline, StepError


def first(data):
    return {"a": 1}


def second(data):
    return {"b": data["a"] + 1}


async def third(data):
    await asyncio.sleep(0)
    return {"c": data["a"] + data["b"]}


class Demo:
    def __init__(self, key):
        self.key = key

    def __call__(self, data):
        return {self.key: sorted(data)}


def test_returned_dicts_accumulate_and_run_returns_the_whole_dict():
    pipeline = Pipeline()
    pipeline.set_steps(
        [
            (first, "uno", "v1"),
            (second, "dos", "v1"),
            (third, "tres", "v1"),
            (Demo("seen"), "x", ""),
        ]
    )
    given = {"input": 0}
    assert pipeline.run(given) == {
        "input": 0,
        "a": 1,
        "b": 2,
        "c": 3,
        "seen": ["a", "b", "c", "input"],  # a later step sees everything before it
    }
    assert given == {"input": 0}  # the caller's dict is not changed


def test_a_step_may_return_none_or_the_dict_it_got():
    def nothing(data):
        data["touched"] = True  # the dict the next steps get

    def same(data):
        return data

    pipeline = Pipeline().set_steps([(nothing, "n", "v1"), (same, "s", "v1"), (first, "f", "v1")])
    assert pipeline.run({}) == {"touched": True, "a": 1}
    assert pipeline.run() == {"touched": True, "a": 1}  # no data: an empty dict


def test_plain_steps_run_off_the_event_loop_async_steps_on_it():
    where = {}

    def plain(data):
        try:
            asyncio.get_running_loop()
            where["plain"] = "loop"
        except RuntimeError:
            where["plain"] = threading.current_thread().name
        return {}

    async def coroutine(data):
        where["async"] = threading.current_thread().name
        return {}

    Pipeline().set_steps([(plain, "p", ""), (coroutine, "c", "")]).run({})
    assert where["plain"].startswith("pipelines")  # the engine's thread pool
    assert where["async"] == "MainThread"


async def test_inside_a_running_loop_run_is_awaited():
    pipeline = Pipeline().set_steps([(first, "uno", "v1"), (third_needs_b, "tres", "v1")])
    pending = pipeline.run({"b": 5})
    assert asyncio.iscoroutine(pending)
    assert await pending == {"b": 5, "a": 1, "c": 6}
    assert await pipeline.arun({"b": 1}) == {"b": 1, "a": 1, "c": 2}


async def third_needs_b(data):
    return {"c": data["a"] + data["b"]}


async def test_runs_of_one_pipeline_may_overlap():
    async def slow(data):
        await asyncio.sleep(0.01)
        return {"out": data["n"] * 10}

    pipeline = Pipeline().set_steps([(slow, "slow", "v1"), (first, "f", "v1")])
    results = await asyncio.gather(*(pipeline.run({"n": n}) for n in range(5)))
    assert results == [{"n": n, "out": n * 10, "a": 1} for n in range(5)]


def test_a_failing_step_stops_the_run_and_names_the_step():
    calls = []
    problem = ValueError("no customer")

    def fails(data):
        calls.append("fails")
        raise problem

    def never(data):
        calls.append("never")
        return {}

    pipeline = Pipeline().set_steps(
        [(first, "uno", "v1.0"), (fails, "Cobrar", "v2.1"), (never, "tres", "v1.0")]
    )
    with pytest.raises(StepError) as caught:
        pipeline.run({"order": 7})
    error = caught.value
    assert str(error) == "step 'Cobrar' v2.1 failed: ValueError: no customer"
    assert (error.step, error.version, error.position, error.node) == (
        "Cobrar",
        "v2.1",
        2,
        "Cobrar",
    )
    assert error.__cause__ is problem
    assert error.data == {"order": 7, "a": 1}  # the partial result
    assert error.item == "{'a': 1, 'order': 7}"  # a short repr (reprlib sorts keys)
    assert isinstance(error, PipelineError)
    assert error.result.status == "failed"
    assert error.result.stats["tres"].received == 0
    assert calls == ["fails"]


def test_a_step_returning_something_else_than_a_dict_fails_by_name():
    def number(data):
        return 42

    with pytest.raises(StepError) as caught:
        Pipeline().set_steps([(number, "cuenta", "v1")]).run({})
    assert str(caught.value) == (
        "step 'cuenta' v1 failed: TypeError: step 'cuenta' v1 returned int, not a dict"
        " (return a dict of the keys it adds, or None)"
    )
    assert isinstance(caught.value.__cause__, TypeError)


def test_verbose_prints_each_step_as_it_starts_and_a_failure(capsys):
    def fails(data):
        raise KeyError("x")

    pipeline = Pipeline(verbose=True).set_steps([(first, "uno", "v1"), (fails, "dos", "")])
    with pytest.raises(StepError):
        pipeline.run({})
    assert capsys.readouterr().out == ("[1/2] uno v1\n[2/2] dos\n[2/2] dos failed: KeyError: 'x'\n")


def test_set_steps_again_reuses_the_pipeline():
    pipeline = Pipeline().set_steps([(first, "uno", "v1")])
    assert pipeline.run({}) == {"a": 1}
    pipeline.set_steps([(Demo("k"), "demo", "v1")])
    assert pipeline.run({"z": 0}) == {"z": 0, "k": ["z"]}
    assert [s.name for s in pipeline.steps] == ["demo"]


def test_every_problem_of_a_step_list_is_reported_with_its_path():
    pipeline = Pipeline().set_steps([(first, "uno", "v1")])

    def two(a, b):
        return {}

    def generator(data):
        yield {}

    with pytest.raises(SpecError) as caught:
        pipeline.set_steps(
            [(first, "", "v1"), ("not callable", "x", "v1"), (two, "two", "v1"),
             (generator, "gen", None), (first, "x", ["v"]), 42, (first,)]
        )  # fmt: skip
    assert [str(p) for p in caught.value.problems] == [
        "steps[0].name: must be a non-empty string, got ''",
        "steps[1].function: is not callable (got str)",
        "steps[2].function: test_every_problem_of_a_step_list_is_reported_with_its_path.<locals>"
        ".two(a, b) cannot be called as step(data): missing a required argument: 'b'",
        "steps[3].function: test_every_problem_of_a_step_list_is_reported_with_its_path.<locals>"
        ".generator is a generator: a step returns one dict (return it)",
        "steps[4].version: must be a string, got ['v']",
        "steps[5]: a step is (function, name, version), got int",
        "steps[6]: a step is (function, name, version), got 1 values",
    ]
    assert [s.name for s in pipeline.steps] == ["uno"]  # the steps set before stay
    for bad, message in (("first", "got str"), ({"a": first}, "got dict"), ([], "at least one")):
        with pytest.raises(SpecError, match=message):
            pipeline.set_steps(bad)


def test_steps_may_omit_their_version_or_be_bare_functions():
    pipeline = Pipeline().set_steps([(first, "uno"), second, (third, "tres", 2)])
    assert [(s.name, s.version, s.node) for s in pipeline.steps] == [
        ("uno", "", "uno"),
        ("second", "", "second"),
        ("tres", "2", "tres"),
    ]
    assert pipeline.run({}) == {"a": 1, "b": 2, "c": 3}


def test_repeated_names_get_their_version_then_a_number_and_slashes_are_kept_apart():
    pipeline = Pipeline().set_steps(
        [(first, "Tarea 1", "v1.0"), (second, "Tarea 1", "v2.0"), (third, "Tarea 1", "v2.0"),
         (Demo("k"), "a/b", "v1")]
    )  # fmt: skip
    assert [s.node for s in pipeline.steps] == [
        "Tarea 1 v1.0",
        "Tarea 1 v2.0",
        "Tarea 1 v2.0 #2",
        "a\u2215b",
    ]
    assert pipeline.run({})["c"] == 3


def test_running_without_steps_or_on_something_else_than_a_dict_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"no steps: call set_steps\(\[...\]\) first"):
        Pipeline().run({})
    with pytest.raises(TypeError, match="a steps pipeline runs on a dict, got list"):
        Pipeline().set_steps([first]).run([1, 2])


async def test_cancelling_the_caller_cancels_the_run():
    started = asyncio.Event()

    async def forever(data):
        started.set()
        await asyncio.Event().wait()

    pipeline = Pipeline().set_steps([(forever, "forever", "v1")])
    task = asyncio.ensure_future(pipeline.run({}))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- a pipeline as a callable: a graph's node, another pipeline's step ---------------------


async def orders():
    for n in (1, 2, 3):
        yield {"order": n}


async def test_a_pipeline_is_a_node_of_a_graph_each_item_through_all_steps():
    steps = Pipeline().set_steps([(first, "uno", "v1"), (second, "dos", "v1"), (third, "tres", "")])
    spec = {
        "nodes": {
            "orders": {"coro": orders},
            "steps": {"coro": steps, "concurrency": 2},
            "out": {"coro": keep, "collect": True},
        },
        "graph": {"orders": ["steps"], "steps": ["out"], "out": None},
    }
    result = await Plumber(spec).run()
    assert result.outputs["out"] == [{"order": n, "a": 1, "b": 2, "c": 3} for n in (1, 2, 3)]
    assert result.stats["steps"].received == 3


async def keep(x):
    return x


async def test_a_failing_step_in_a_node_fails_the_node_with_the_step_error_chained():
    def picky(data):
        if data["order"] == 2:
            raise ValueError("order 2 is bad")
        return {}

    steps = Pipeline().set_steps([(first, "uno", "v1"), (picky, "picky", "v3")])
    spec = {
        "nodes": {"orders": {"coro": orders}, "steps": {"coro": steps}},
        "graph": {"orders": ["steps"], "steps": None},
    }
    with pytest.raises(PipelineError) as caught:
        await Plumber(spec).run()
    assert caught.value.node == "steps"
    inner = caught.value.__cause__
    assert isinstance(inner, StepError)
    assert (inner.step, inner.version, inner.data) == ("picky", "v3", {"order": 2, "a": 1})
    assert str(inner.__cause__) == "order 2 is bad"
    assert inner.result is None


def test_a_pipeline_is_a_step_of_another_pipeline():
    inner = Pipeline().set_steps([(second, "dos", "v1"), (third, "tres", "v1")])
    outer = Pipeline().set_steps([(first, "uno", "v1"), (inner, "sub", "v1"), (Demo("k"), "k", "")])
    assert outer.steps[1].is_async
    assert outer.run({}) == {"a": 1, "b": 2, "c": 3, "k": ["a", "b", "c"]}
