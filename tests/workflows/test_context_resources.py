"""The shared context (lockable, protected) and run resources (entered, injected, always exited)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from pipelines import ContextProtected, PipelineError, Plumber, SpecError
from pipelines.runtime.context import Context, ReadOnlyContext


def _counting_spec(mode="lockable", n=20, concurrency=4):
    async def count(x, context):
        async with context as ctx:
            value = ctx["counter"]
            await asyncio.sleep(0)  # another worker runs here: the lock keeps the update whole
            ctx["counter"] = value + 1
        return x

    return {
        "context": {"counter": 0},
        "context_mode": mode,
        "nodes": {
            "src": {"coro": list(range(n))},
            "count": {"coro": count, "concurrency": concurrency},
        },
        "graph": {"src": ["count"], "count": None},
    }


async def test_a_lockable_context_is_shared_and_its_lock_keeps_updates_whole():
    plumber = Plumber(_counting_spec())
    seen = {}

    def probe(event):
        if event.kind == "run_finished":
            seen["counter"] = plumber.nodes[1].context["counter"]

    plumber.subscribe(probe)
    await plumber.run()
    assert seen["counter"] == 20


async def test_without_the_lock_the_same_updates_would_be_lost():
    # The control experiment: the same read-modify-write without `async with`.
    async def count(x, context):
        value = context["counter"]
        await asyncio.sleep(0)
        context["counter"] = value + 1

    spec = _counting_spec()
    spec["nodes"]["count"]["coro"] = count
    plumber = Plumber(spec)
    await plumber.run()
    assert plumber.nodes[1].context["counter"] < 20


async def test_a_protected_context_refuses_any_change():
    with pytest.raises(PipelineError) as caught:
        await Plumber(_counting_spec("protected")).run()
    assert isinstance(caught.value.__cause__, ContextProtected)
    assert "read-only for the whole run" in str(caught.value.__cause__)


async def test_processor_context_and_plumber_context_argument():
    async def read(x, processor):
        return (x, processor.context["unit"])

    spec = {
        "context": {"unit": "m"},
        "nodes": {"src": {"coro": [1]}, "r": {"coro": read, "collect": True}},
        "graph": {"src": ["r"], "r": None},
    }
    assert (await Plumber(spec).run()).outputs["r"] == [(1, "m")]
    assert (await Plumber(spec, context={"unit": "km"}).run()).outputs["r"] == [(1, "km")]


def test_a_copy_sent_to_a_worker_process_is_read_only():
    import pickle

    ctx = Context({"a": 1})
    copy = pickle.loads(pickle.dumps(ctx))
    assert isinstance(copy, ReadOnlyContext) and copy["a"] == 1
    with pytest.raises(ContextProtected, match="read-only copy"):
        copy["a"] = 2
    ctx["a"] = 3  # the original stays writable
    with ctx:  # the thread lock, for plain def nodes
        ctx["b"] = 4
    assert ctx.snapshot() == {"a": 3, "b": 4}


def test_context_mode_is_validated():
    spec = _counting_spec("frozen")
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    assert [str(p) for p in caught.value.problems] == [
        "context_mode: must be one of lockable, protected, got 'frozen'"
    ]


# -- resources ------------------------------------------------------------------------------


def _resource_spec(log, fail_in=None, second_enter_fails=False):
    @contextlib.asynccontextmanager
    async def db():
        log.append("db open")
        try:
            yield {"rows": []}
        finally:
            log.append("db closed")

    @contextlib.contextmanager
    def cache():
        if second_enter_fails:
            raise OSError("no cache")
        log.append("cache open")
        try:
            yield {}
        finally:
            log.append("cache closed")

    async def save(x, db, cache):
        if fail_in == "node" and x == 2:
            raise ValueError("bad row")
        log.append(f"save {x}")
        db["rows"].append(x)
        cache[x] = True

    async def endless():
        i = 0
        while True:
            yield i
            i += 1
            await asyncio.sleep(0)

    return {
        "resources": {"db": db, "cache": cache},
        "nodes": {
            "src": {"coro": endless if fail_in == "cancel" else [1, 2, 3]},
            "save": {"coro": save},
        },
        "graph": {"src": ["save"], "save": None},
    }


async def test_resources_open_before_nodes_and_close_after_them_in_reverse():
    log = []
    await Plumber(_resource_spec(log)).run()
    assert log == [
        "db open",
        "cache open",
        "save 1",
        "save 2",
        "save 3",
        "cache closed",
        "db closed",
    ]


async def test_resources_close_when_a_node_fails():
    log = []
    with pytest.raises(PipelineError):
        await Plumber(_resource_spec(log, fail_in="node")).run()
    assert log == ["db open", "cache open", "save 1", "cache closed", "db closed"]


async def test_resources_close_on_cancellation(no_pending_tasks):
    log = []
    plumber = Plumber(_resource_spec(log, fail_in="cancel"))
    task = asyncio.create_task(plumber.run())
    while "save 5" not in log:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log[-2:] == ["cache closed", "db closed"]
    no_pending_tasks()


async def test_resources_close_on_stop():
    log = []
    plumber = Plumber(_resource_spec(log, fail_in="cancel"))
    task = asyncio.create_task(plumber.run())
    while "save 5" not in log:
        await asyncio.sleep(0)
    await plumber.stop()
    assert (await task).status == "stopped"
    assert log[-2:] == ["cache closed", "db closed"]


async def test_entered_resources_close_when_a_later_one_fails_to_enter():
    log = []
    with pytest.raises(PipelineError) as caught:
        await Plumber(_resource_spec(log, second_enter_fails=True)).run()
    assert caught.value.node == "resources.cache"
    assert isinstance(caught.value.__cause__, OSError)
    assert log == ["db open", "db closed"]


async def test_a_factory_that_gives_no_context_manager_is_a_clear_error():
    spec = {
        "resources": {"thing": lambda: 42},
        "nodes": {"src": {"coro": [1]}, "n": {"coro": lambda x, thing: x}},
        "graph": {"src": ["n"], "n": None},
    }
    with pytest.raises(PipelineError) as caught:
        await Plumber(spec).run()
    assert caught.value.node == "resources.thing"
    assert "returned int, not a context manager" in str(caught.value.__cause__)


def test_resource_names_and_process_nodes_are_validated():
    spec = {
        "resources": {"context": lambda: None, "not a name": lambda: None, "db": "json:nope"},
        "nodes": {"src": {"coro": [1]}, "n": {"coro": "json:dumps"}},
        "graph": {"src": ["n"], "n": None},
    }
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    assert [str(p) for p in caught.value.problems] == [
        "resources.context: 'context' is reserved (the run passes its own)",
        "resources.not a name: a resource name must be a Python identifier",
        "resources.db: cannot import 'json:nope': 'json' has no attribute 'nope'",
    ]


def test_a_process_node_cannot_receive_a_resource():
    spec = {
        "resources": {"db": contextlib.nullcontext},
        "nodes": {
            "src": {"coro": [1]},
            "n": {"coro": "engine_funcs.procs:uses_db", "executor": "process"},
        },
        "graph": {"src": ["n"], "n": None},
    }
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    assert [str(p) for p in caught.value.problems] == [
        "nodes.n.coro: parameter 'db' (a run resource) cannot be sent to a worker process"
    ]
