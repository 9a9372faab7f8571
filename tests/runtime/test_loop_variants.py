"""Every loop variant handles success, each error policy, retries and cancellation the same way.

The engine keeps one specialised loop per node shape (``runtime/loops.py``:
one output, sink, zip of two, general, async generator; ``workers.py``:
concurrency N, ordered and unordered; ``pumps.py`` and ``sources.py``: every
kind of source). They repeat take / call / put on purpose, so this matrix
runs each of them through the same behaviours with exact results.

A transform under test turns ``x`` into ``10 * x`` (a tuple of a zip: into
``10 * sum``; a generator yields ``10 * x`` and ``10 * x + 1``) and fails on
the item whose value is 3 when the behaviour asks for a failure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from pipelines import DeadLetter, PipelineError, Plumber

N = 6
BAD = 3


@dataclass
class Case:
    """One loop variant: how to build it and what it emits for an item."""

    name: str
    sources: int = 1  # sources feeding the node (2 or 3: a zip)
    outputs: int = 1  # 0: a sink; 2: fan-out
    shape: str = "async"  # async | gen | agen | sync
    extra: dict[str, Any] = field(default_factory=dict)
    unordered: bool = False

    def value(self, x: int) -> int:
        return x if self.sources == 1 else x * self.sources

    def results(self, x: int) -> list[int]:
        v = 10 * self.value(x)
        return [v, v + 1] if self.shape in ("gen", "agen") else [v]

    def item(self, x: int) -> Any:
        return x if self.sources == 1 else tuple([x] * self.sources)


CASES = [
    Case("one-output"),
    Case("sink", outputs=0),
    Case("zip2", sources=2),
    Case("zip3-general", sources=3),
    Case("fan-out-general", outputs=2),
    Case("sync-generator-general", shape="gen"),
    Case("async-generator-stream", shape="agen"),
    Case("plain-def-thread", shape="sync"),
    Case("workers-ordered", extra={"concurrency": 3}),
    Case("workers-unordered", extra={"concurrency": 3, "ordered": False}, unordered=True),
    Case("workers-zip", sources=2, extra={"concurrency": 2}),
    Case("workers-generator", shape="agen", extra={"concurrency": 2}),
]
BEHAVIOURS = ["success", "raise", "skip", "dead-letter", "retries"]


def _node_fn(case: Case, fail: str, seen: dict[int, int]):
    """The function of the node under test for ``case`` and the failure mode ``fail``."""

    def check(item: Any) -> int:
        x = item if case.sources == 1 else item[0]
        seen[x] = seen.get(x, 0) + 1
        if x == BAD and (fail == "always" or (fail == "once" and seen[x] == 1)):
            raise ValueError(f"bad {x}")
        return 10 * (x if case.sources == 1 else sum(item))

    if case.shape == "async":

        async def node(item):
            return check(item)

    elif case.shape == "sync":

        def node(item):
            return check(item)

    elif case.shape == "gen":

        def node(item):
            v = check(item)
            yield v
            yield v + 1

    else:

        async def node(item):
            v = check(item)
            yield v
            yield v + 1

    return node


def _spec(case: Case, behaviour: str, sink_log: list[Any], dead: list[Any], seen: dict[int, int]):
    fail = {"success": "never", "retries": "once"}.get(behaviour, "always")
    options: dict[str, Any] = dict(case.extra)
    if behaviour == "skip":
        options["on_error"] = "skip"
    elif behaviour == "dead-letter":
        options["on_error"] = "dlq"
    elif behaviour == "retries":
        options["retries"] = 1

    async def record(item):
        sink_log.append(item)

    async def keep_dead(letter):
        dead.append(letter)

    nodes: dict[str, Any] = {}
    graph: dict[str, Any] = {}
    for i in range(case.sources):
        nodes[f"src{i}"] = {"coro": list(range(N))}
        graph[f"src{i}"] = ["node"]
    if case.outputs == 0:
        # A sink that records what it is given: the node under test itself.
        inner = _node_fn(case, fail, seen)

        if case.shape == "sync":

            def sink(item):  # a plain def sink runs in a thread
                sink_log.append(inner(item))

        else:

            async def sink(item):
                value = inner(item)
                if asyncio.iscoroutine(value):
                    value = await value
                sink_log.append(value)

        nodes["node"] = {"coro": sink, **options}
        graph["node"] = None
    else:
        nodes["node"] = {"coro": _node_fn(case, fail, seen), **options}
        outs = [f"out{i}" for i in range(case.outputs)]
        graph["node"] = outs
        for name in outs:
            nodes[name] = {"coro": record if name == "out0" else _passthrough, "collect": True}
            graph[name] = None
    if behaviour == "dead-letter":
        nodes["dlq"] = {"coro": keep_dead}
        graph["dlq"] = None
    return {"nodes": nodes, "graph": graph}


async def _passthrough(item):
    return item


def _expected(case: Case, skip_bad: bool) -> list[int]:
    out: list[int] = []
    for x in range(N):
        if skip_bad and x == BAD:
            continue
        out += case.results(x)
    return out


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_loop_variant(case: Case, behaviour: str, no_pending_tasks):
    sink_log: list[Any] = []
    dead: list[Any] = []
    seen: dict[int, int] = {}
    plumber = Plumber(_spec(case, behaviour, sink_log, dead, seen))
    if behaviour == "raise":
        with pytest.raises(PipelineError) as caught:
            async with asyncio.timeout(10):
                await plumber.run()
        error = caught.value
        assert error.node == "node"
        assert error.item == repr(case.item(BAD))
        assert isinstance(error.__cause__, ValueError)
        assert str(error.__cause__) == f"bad {BAD}"
        assert error.result.status == "failed"
        assert error.result.stats["node"].failed == 1
        no_pending_tasks()
        return
    async with asyncio.timeout(10):
        result = await plumber.run()
    no_pending_tasks()
    skip_bad = behaviour in ("skip", "dead-letter")
    expected = _expected(case, skip_bad)
    got = sink_log
    if case.unordered:
        got, expected = sorted(got), sorted(expected)
    assert got == expected
    if case.outputs == 2:
        assert result.outputs["out1"] == sink_log
    stats = result.stats["node"]
    assert stats.received == N
    assert stats.failed == (1 if skip_bad else 0)
    assert stats.retried == (1 if behaviour == "retries" else 0)
    if case.outputs:
        assert stats.emitted == len(_expected(case, skip_bad))
    if behaviour == "dead-letter":
        assert dead == [DeadLetter("node", case.item(BAD), dead[0].error, 1)]
        assert isinstance(dead[0].error, ValueError)
        assert result.stats["dlq"].received == 1
    else:
        assert dead == []


# A call in a thread cannot be interrupted (tests/runtime/test_cancel.py covers
# how a run waits for it), so the threaded variants are not in this matrix.
ASYNC_CASES = [c for c in CASES if c.shape not in ("sync", "gen")]


@pytest.mark.parametrize("case", ASYNC_CASES, ids=[c.name for c in ASYNC_CASES])
async def test_loop_variant_cancellation(case: Case, no_pending_tasks):
    """Cancelling the run while the node is in a call on item 3 cancels everything, cleanly."""
    entered = asyncio.Event()

    async def block(item):
        x = item if case.sources == 1 else item[0]
        if x == BAD:
            entered.set()
            await asyncio.Event().wait()  # until cancelled
        return 10 * (x if case.sources == 1 else sum(item))

    async def block_gen(item):
        yield await block(item)

    nodes: dict[str, Any] = {}
    graph: dict[str, Any] = {}
    for i in range(case.sources):
        nodes[f"src{i}"] = {"coro": list(range(N))}
        graph[f"src{i}"] = ["node"]
    fn = block_gen if case.shape == "agen" else block
    nodes["node"] = {"coro": fn, **case.extra}
    graph["node"] = [f"out{i}" for i in range(case.outputs)] or None
    for i in range(case.outputs):
        nodes[f"out{i}"] = {"coro": _passthrough, "collect": True}
        graph[f"out{i}"] = None
    plumber = Plumber({"nodes": nodes, "graph": graph})
    task = asyncio.create_task(plumber.run())
    async with asyncio.timeout(10):
        await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    no_pending_tasks()
    stats = plumber["node"].stats
    # Every item taken is counted, including the one cancelled in flight.
    assert stats.received >= BAD + 1
    assert stats.failed == 0
    assert not plumber.running


# -- sources: every pump ------------------------------------------------------------------


class _AsyncRange:
    """An async iterable object (not a generator function)."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def __aiter__(self):
        return self._gen()

    async def _gen(self):
        for x in range(N):
            if self.fail and x == BAD:
                raise ValueError(f"bad {x}")
            yield x


def _source(kind: str, fail: str, calls: list[int]):
    """A source of ``kind`` emitting 0..N-1 (failing at BAD); once-sources emit one item, 7."""

    def check(x: int) -> None:
        if x == BAD and fail != "never":
            raise ValueError(f"bad {x}")

    if kind in ("async-gen-one-output", "async-gen-fan-out"):

        async def src():
            for x in range(N):
                check(x)
                yield x

        return src
    if kind == "iterable":
        return list(range(N))
    if kind == "async-iterable":
        return _AsyncRange(fail != "never")
    if kind == "sync-generator-thread":

        def gen():
            for x in range(N):
                check(x)
                yield x

        return gen
    if kind == "upstream-output-q":

        async def rig(self, output_q):
            for x in range(N):
                check(x)
                await output_q.put(x)

        return rig

    def once_check() -> int:
        calls.append(1)
        if fail == "always" or (fail == "once" and len(calls) == 1):
            raise ValueError("bad once")
        return 7

    if kind == "coroutine-once":

        async def once():
            return once_check()

        return once

    def once_sync():
        return once_check()

    return once_sync


SOURCES = [
    "async-gen-one-output",
    "async-gen-fan-out",
    "iterable",
    "async-iterable",
    "sync-generator-thread",
    "upstream-output-q",
    "coroutine-once",
    "plain-def-once",
]


# A stream source is not called again, so retries apply to once-sources only;
# a list cannot fail.
SOURCE_CASES = [
    (kind, behaviour)
    for kind in SOURCES
    for behaviour in BEHAVIOURS
    if (behaviour != "retries" or kind.endswith("-once"))
    and (kind != "iterable" or behaviour == "success")
]


@pytest.mark.parametrize(("kind", "behaviour"), SOURCE_CASES)
async def test_source_variant(kind: str, behaviour: str, no_pending_tasks):
    once = kind.endswith("-once")
    fail = {"success": "never", "retries": "once"}.get(behaviour, "always")
    calls: list[int] = []
    dead: list[Any] = []
    options: dict[str, Any] = {}
    if behaviour == "skip":
        options["on_error"] = "skip"
    elif behaviour == "dead-letter":
        options["on_error"] = "dlq"
    elif behaviour == "retries":
        options["retries"] = 1

    async def keep_dead(letter):
        dead.append(letter)

    outs = ["a", "b"] if kind == "async-gen-fan-out" else ["a"]
    nodes: dict[str, Any] = {"src": {"coro": _source(kind, fail, calls), **options}}
    graph: dict[str, Any] = {"src": outs}
    for name in outs:
        nodes[name] = {"coro": _passthrough, "collect": True}
        graph[name] = None
    if behaviour == "dead-letter":
        nodes["dlq"] = {"coro": keep_dead}
        graph["dlq"] = None
    plumber = Plumber({"nodes": nodes, "graph": graph})
    if behaviour == "raise":
        with pytest.raises(PipelineError) as caught:
            async with asyncio.timeout(10):
                await plumber.run()
        assert caught.value.node == "src"
        assert caught.value.item is None
        assert isinstance(caught.value.__cause__, ValueError)
        no_pending_tasks()
        return
    async with asyncio.timeout(10):
        result = await plumber.run()
    no_pending_tasks()
    failed = behaviour in ("skip", "dead-letter")
    stream = list(range(BAD)) if failed else list(range(N))
    expected = ([] if failed else [7]) if once else stream
    for name in outs:
        assert result.outputs[name] == expected
    stats = result.stats["src"]
    assert stats.emitted == len(expected)
    assert stats.failed == (1 if failed else 0)
    assert stats.retried == (1 if behaviour == "retries" else 0)
    if behaviour == "dead-letter":
        assert len(dead) == 1
        assert (dead[0].node, dead[0].item, dead[0].attempts) == ("src", None, 1)
        assert isinstance(dead[0].error, ValueError)


@pytest.mark.parametrize("kind", ["async-gen-one-output", "async-gen-fan-out", "upstream-output-q"])
async def test_source_variant_cancellation(kind: str, no_pending_tasks):
    """Cancelling the run while a source waits for its next item ends everything, cleanly."""
    entered = asyncio.Event()

    async def stuck():
        yield 0
        entered.set()
        await asyncio.Event().wait()
        yield 1

    async def stuck_rig(self, output_q):
        await output_q.put(0)
        entered.set()
        await asyncio.Event().wait()

    outs = ["a", "b"] if kind == "async-gen-fan-out" else ["a"]
    nodes: dict[str, Any] = {"src": {"coro": stuck_rig if kind == "upstream-output-q" else stuck}}
    graph: dict[str, Any] = {"src": outs}
    for name in outs:
        nodes[name] = {"coro": _passthrough, "collect": True}
        graph[name] = None
    plumber = Plumber({"nodes": nodes, "graph": graph})
    task = asyncio.create_task(plumber.run())
    async with asyncio.timeout(10):
        await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    no_pending_tasks()
    assert plumber["src"].stats.emitted == 1
