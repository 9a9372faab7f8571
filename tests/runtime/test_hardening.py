"""Defects found by testing the engine from outside (issue 9), each pinned by a test."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from pipelines import PipelineError, Plumber, SpecError

# -- a node raising CancelledError itself is that node's failure --------------------------


def _cancel_on_two_spec(where: str, concurrency: int, on_error: str = "raise"):
    seen: list[int] = []

    async def t(x):
        if x == 2:
            raise asyncio.CancelledError()
        return x

    async def sink(x):
        if x == 2:
            raise asyncio.CancelledError()
        seen.append(x)

    async def keep(x):
        seen.append(x)

    options = {"concurrency": concurrency, "on_error": on_error}
    if where == "transform":
        nodes = {
            "src": {"coro": list(range(6))},
            "t": {"coro": t, **options},
            "out": {"coro": keep},
        }
        graph = {"src": ["t"], "t": ["out"], "out": None}
    else:
        nodes = {"src": {"coro": list(range(6))}, "t": {"coro": sink, **options}}
        graph = {"src": ["t"], "t": None}
    return {"nodes": nodes, "graph": graph}, seen


@pytest.mark.parametrize("where", ["transform", "sink"])
@pytest.mark.parametrize("concurrency", [1, 3])
async def test_a_node_raising_cancelled_error_fails_with_pipeline_error(
    where, concurrency, no_pending_tasks
):
    spec, _ = _cancel_on_two_spec(where, concurrency)
    with pytest.raises(PipelineError) as caught:
        async with asyncio.timeout(10):
            await Plumber(spec).run()
    assert caught.value.node == "t"
    assert caught.value.item == "2"
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
    assert caught.value.result.stats["t"].failed == 1
    no_pending_tasks()


@pytest.mark.parametrize("where", ["transform", "sink"])
@pytest.mark.parametrize("concurrency", [1, 3])
async def test_a_node_raising_cancelled_error_with_skip_counts_it(where, concurrency):
    spec, seen = _cancel_on_two_spec(where, concurrency, on_error="skip")
    async with asyncio.timeout(10):
        result = await Plumber(spec).run()
    assert result.status == "completed"
    assert sorted(seen) == [0, 1, 3, 4, 5]
    assert result.stats["t"].received == 6
    assert result.stats["t"].failed == 1


async def test_a_cancelled_error_of_a_node_is_retried_like_any_failure():
    calls = itertools.count()

    async def flaky(x):
        if x == 1 and next(calls) == 0:
            raise asyncio.CancelledError()
        return x

    spec = {
        "nodes": {
            "src": {"coro": [0, 1, 2]},
            "f": {"coro": flaky, "retries": 1, "collect": True},
        },
        "graph": {"src": ["f"], "f": None},
    }
    result = await Plumber(spec).run()
    assert result.outputs["f"] == [0, 1, 2]
    assert result.stats["f"].retried == 1


async def test_a_source_raising_cancelled_error_fails_with_pipeline_error():
    async def src():
        yield 1
        raise asyncio.CancelledError()

    spec = {
        "nodes": {"src": {"coro": src}, "out": {"coro": _passthrough}},
        "graph": {"src": ["out"], "out": None},
    }
    with pytest.raises(PipelineError) as caught:
        await Plumber(spec).run()
    assert caught.value.node == "src"
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)


# -- other BaseExceptions ------------------------------------------------------------------


class Boom(BaseException):
    pass


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_a_custom_base_exception_is_a_pipeline_error_not_a_group(
    concurrency, no_pending_tasks
):
    async def t(x):
        if x == 1:
            raise Boom("boom")
        return x

    spec = {
        "nodes": {"src": {"coro": [0, 1, 2]}, "t": {"coro": t, "concurrency": concurrency}},
        "graph": {"src": ["t"], "t": None},
    }
    with pytest.raises(PipelineError) as caught:
        await Plumber(spec).run()
    assert caught.value.node == "t"
    assert isinstance(caught.value.__cause__, Boom)
    no_pending_tasks()


@pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt])
@pytest.mark.parametrize("concurrency", [1, 2])
async def test_system_exit_and_keyboard_interrupt_leave_run_as_themselves_after_teardown(
    kind, concurrency, no_pending_tasks
):
    async def t(x):
        if x == 1:
            raise kind(3) if kind is SystemExit else kind()
        return x

    async def slow(x):
        await asyncio.sleep(0)
        return x

    spec = {
        "nodes": {
            "src": {"coro": list(range(50))},
            "t": {"coro": t, "concurrency": concurrency},
            "out": {"coro": slow},
        },
        "graph": {"src": ["t"], "t": ["out"], "out": None},
    }
    plumber = Plumber(spec)
    with pytest.raises(kind) as caught:
        await plumber.run()
    assert caught.value.pipelines_node == "t"
    if kind is SystemExit:
        assert caught.value.code == 3
    assert not plumber.running
    no_pending_tasks()


# -- stop before the run has taken its first step -----------------------------------------


async def _endless():
    for i in itertools.count():
        yield i
        await asyncio.sleep(0)


async def _passthrough(x):
    return x


def _endless_spec():
    return {
        "nodes": {"src": {"coro": _endless}, "out": {"coro": _passthrough}},
        "graph": {"src": ["out"], "out": None},
    }


@pytest.mark.parametrize("drain", [True, False])
async def test_stop_before_the_run_task_started_ends_the_run(drain, no_pending_tasks):
    plumber = Plumber(_endless_spec())
    task = asyncio.create_task(plumber.run())
    async with asyncio.timeout(10):
        await plumber.stop(drain=drain)
        result = await task
    assert result.status == "stopped"
    no_pending_tasks()


async def test_request_stop_before_awaiting_run_ends_it():
    plumber = Plumber(_endless_spec())
    coro = plumber.run()
    plumber.request_stop()
    async with asyncio.timeout(10):
        result = await coro
    assert result.status == "stopped"
    assert result.stats["src"].emitted == 0


async def test_a_stop_with_no_run_pending_does_not_affect_a_later_run():
    spec = {
        "nodes": {"src": {"coro": [1, 2, 3]}, "out": {"coro": _passthrough, "collect": True}},
        "graph": {"src": ["out"], "out": None},
    }
    plumber = Plumber(spec)
    await plumber.stop()
    result = await plumber.run()
    assert (result.status, result.outputs["out"]) == ("completed", [1, 2, 3])


# -- workers start on demand ---------------------------------------------------------------


async def test_an_idle_node_with_a_high_concurrency_starts_few_workers():
    made: list[asyncio.Task] = []
    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()

    def counting(loop, coro, **kwargs):
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    spec = {
        "nodes": {
            "src": {"coro": [1, 2, 3]},
            "wide": {"coro": _passthrough, "concurrency": 10_000, "collect": True},
        },
        "graph": {"src": ["wide"], "wide": None},
    }
    loop.set_task_factory(counting)
    try:
        result = await Plumber(spec).run()
    finally:
        loop.set_task_factory(factory)
    assert result.outputs["wide"] == [1, 2, 3]
    workers = [t for t in made if t.get_name().startswith("pipelines:wide:worker")]
    assert 1 <= len(workers) <= 2


async def test_workers_grow_to_the_concurrency_when_calls_block():
    gate = asyncio.Event()
    in_flight = 0
    peak = 0

    async def hold(x):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if peak == 4:
            gate.set()
        await gate.wait()
        in_flight -= 1
        return x

    spec = {
        "nodes": {
            "src": {"coro": list(range(10))},
            "hold": {"coro": hold, "concurrency": 4, "collect": True},
        },
        "graph": {"src": ["hold"], "hold": None},
    }
    async with asyncio.timeout(10):
        result = await Plumber(spec).run()
    assert result.outputs["hold"] == list(range(10))
    assert peak == 4
    assert result.stats["hold"].peak_in_flight == 4


# -- spec validation raises only SpecError, one precise problem per mistake ------------------


def _problems(spec) -> list[str]:
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    return [str(p) for p in caught.value.problems]


def _one(node_extra=None, **top):
    spec = {
        "nodes": {"src": {"coro": [1]}, "n": {"coro": _passthrough, **(node_extra or {})}},
        "graph": {"src": ["n"], "n": None},
    }
    spec.update(top)
    return spec


@pytest.mark.parametrize("option", ["retry_delay", "backoff", "timeout"])
def test_huge_numbers_are_problems_not_overflow_errors(option):
    (problem,) = _problems(_one({option: 10**400}))
    assert problem.startswith(f"nodes.n.{option}: must be ")
    assert "an integer of 401 digits" in problem


def test_huge_defaults_timeout_is_a_problem():
    (problem,) = _problems(_one(defaults={"timeout": 10**400}))
    assert problem.startswith("defaults.timeout: must be a number of seconds > 0")


@pytest.mark.parametrize("key", [None, 1])
def test_non_string_keys_in_defaults_are_problems(key):
    (problem,) = _problems(_one(defaults={key: 1}))
    assert problem == f"defaults.{key}: unknown option"


def test_concurrency_and_queue_size_have_upper_bounds():
    assert _problems(_one({"concurrency": 10**12, "queue_size": 10**30})) == [
        "nodes.n.concurrency: must be an integer from 1 to 10,000, got 1000000000000",
        "nodes.n.queue_size: must be an integer from 0 to 10,000,000, got an integer of 31 digits",
    ]


def test_an_empty_node_name_is_a_problem():
    spec = {
        "nodes": {"src": {"coro": [1]}, "": {"coro": _passthrough}},
        "graph": {"src": [""], "": None},
    }
    assert _problems(spec) == ["nodes.: a node name must not be empty"]


def test_a_node_named_by_an_int_is_one_precise_problem():
    spec = {
        "nodes": {"src": {"coro": [1]}, 1: {"coro": _passthrough}},
        "graph": {"src": [1], 1: None},
    }
    assert _problems(spec) == [
        "nodes.1: a node name must be a string, got int 1 (in YAML, quote it: '1')"
    ]


def test_a_node_missing_from_graph_is_one_problem():
    async def needs(x, factor):
        return x * factor

    spec = {
        "nodes": {"src": {"coro": [1]}, "n": {"coro": needs, "args": {"factor": 2}}},
        "graph": {"src": ["n"]},
    }
    assert _problems(spec) == [
        "graph.n: node 'n' is missing from graph (use null or [] for no outputs)"
    ]


def test_a_typo_in_a_graph_target_is_one_problem():
    async def needs(x, factor):
        return x * factor

    spec = {
        "nodes": {"src": {"coro": [1]}, "n": {"coro": needs, "args": {"factor": 2}}},
        "graph": {"src": ["nn"], "n": None},
    }
    assert _problems(spec) == ["graph.src: unknown node 'nn' (not a key of nodes)"]


def test_a_process_node_with_a_local_function_is_a_spec_problem():
    def local(x):
        return x

    (problem,) = _problems(_one({"coro": local, "executor": "process"}))
    assert problem.startswith(
        "nodes.n.coro: test_a_process_node_with_a_local_function_is_a_spec_problem.<locals>.local "
        "cannot be sent to a worker process ("
    )
    assert problem.endswith(
        "define it at module level of an importable module (or beside the "
        "spec file) and name it 'module:function'"
    )


def test_a_process_node_with_unpicklable_args_is_a_spec_problem():
    node = {
        "coro": "engine_funcs.procs:mark_then_sleep",
        "executor": "process",
        "args": {"marker_dir": lambda: "/tmp"},
    }
    (problem,) = _problems(_one(node))
    assert problem.startswith("nodes.n.args: cannot be sent to a worker process (")
