"""Failures: retries with delay and backoff, timeouts, on_error raise / skip / dead letter."""

from __future__ import annotations

import asyncio
import logging

import pytest
from engine_funcs import chain_spec, run_spec

from pipelines import DeadLetter, PipelineError, Plumber


def _keep(**options):
    async def keep(item):
        return item

    return {"coro": keep, "collect": True, **options}


class Flaky:
    """Fails item i on its first ``failures[i]`` attempts, then returns it."""

    def __init__(self, failures: dict) -> None:
        self.failures = dict(failures)
        self.attempts: dict = {}

    async def __call__(self, item):
        self.attempts[item] = self.attempts.get(item, 0) + 1
        if self.attempts[item] <= self.failures.get(item, 0):
            raise ValueError(f"flaky {item} attempt {self.attempts[item]}")
        return item


@pytest.fixture
def recorded_sleeps(monkeypatch):
    """Replace asyncio.sleep: record each requested delay and only yield once (a fake clock)."""
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay, result=None):
        delays.append(delay)
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return delays


# -- retries ---------------------------------------------------------------------------------


async def test_retries_recall_until_success_with_exact_attempts():
    flaky = Flaky({0: 0, 1: 1, 2: 2, 3: 0, 4: 1})
    spec = chain_spec(
        ("src", {"coro": range(5)}), ("f", {"coro": flaky, "retries": 2}), ("out", _keep())
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [0, 1, 2, 3, 4]
    assert flaky.attempts == {0: 1, 1: 2, 2: 3, 3: 1, 4: 2}
    assert result.stats["f"].retried == 4
    assert result.stats["f"].failed == 0


async def test_retries_exhausted_raise_with_attempts(no_pending_tasks):
    flaky = Flaky({7: 99})
    spec = chain_spec(
        ("src", {"coro": [7]}), ("f", {"coro": flaky, "retries": 3}), ("out", _keep())
    )
    plumber = Plumber(spec)
    with pytest.raises(PipelineError) as info:
        await plumber.run()
    err = info.value
    assert flaky.attempts == {7: 4}
    assert err.attempts == 4
    assert "after 4 attempts" in str(err)
    assert isinstance(err.__cause__, ValueError)
    assert str(err.__cause__) == "flaky 7 attempt 4"
    assert plumber.nodes[1].stats.retried == 3
    assert plumber.nodes[1].stats.failed == 1
    no_pending_tasks()


async def test_retry_delays_follow_exponential_backoff(recorded_sleeps):
    flaky = Flaky({0: 3, 1: 1})
    spec = chain_spec(
        ("src", {"coro": [0, 1]}),
        ("f", {"coro": flaky, "retries": 3, "retry_delay": 0.5, "backoff": 2}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [0, 1]
    assert recorded_sleeps == [0.5, 1.0, 2.0, 0.5]
    assert result.stats["f"].retried == 4


async def test_retry_delay_is_fixed_without_backoff(recorded_sleeps):
    flaky = Flaky({0: 99})
    spec = chain_spec(
        ("src", {"coro": [0]}),
        ("f", {"coro": flaky, "retries": 3, "retry_delay": 0.25, "on_error": "skip"}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert recorded_sleeps == [0.25, 0.25, 0.25]
    assert flaky.attempts == {0: 4}
    assert (result.stats["f"].retried, result.stats["f"].failed) == (3, 1)
    assert result.outputs["out"] == []


async def test_retry_delays_elapse_on_the_loop_clock():
    """Each retry starts no earlier than its delay after the previous attempt."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def fail_twice(item):
        times.append(loop.time())
        if len(times) < 3:
            raise RuntimeError("again")
        return item

    spec = chain_spec(
        ("src", {"coro": [1]}),
        ("f", {"coro": fail_twice, "retries": 2, "retry_delay": 0.01, "backoff": 3}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [1]
    assert len(times) == 3
    resolution = 1e-3
    assert times[1] - times[0] >= 0.01 - resolution
    assert times[2] - times[1] >= 0.03 - resolution


async def test_retries_of_a_plain_def_function():
    calls: list = []

    def flaky(item):
        calls.append(item)
        if calls.count(item) < 2:
            raise OSError("once")
        return -item

    spec = chain_spec(
        ("src", {"coro": [1, 2]}), ("f", {"coro": flaky, "retries": 1}), ("out", _keep())
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [-1, -2]
    assert calls == [1, 1, 2, 2]
    assert result.stats["f"].retried == 2


async def test_retries_with_concurrency():
    flaky = Flaky({i: i % 3 for i in range(12)})
    spec = chain_spec(
        ("src", {"coro": range(12)}),
        ("f", {"coro": flaky, "retries": 2, "concurrency": 3}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == list(range(12))
    assert result.stats["f"].retried == sum(i % 3 for i in range(12))


# -- timeout ---------------------------------------------------------------------------------


async def test_timeout_turns_a_slow_call_into_a_failure():
    never = asyncio.Event()

    async def slow(item):
        if item == 2:
            await never.wait()
        return item

    spec = chain_spec(
        ("src", {"coro": range(4)}), ("slow", {"coro": slow, "timeout": 0.05}), ("out", _keep())
    )
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    assert info.value.node == "slow"
    assert info.value.item == "2"
    assert isinstance(info.value.__cause__, TimeoutError)


async def test_timeout_with_skip_goes_on_and_counts_the_failure():
    loop = asyncio.get_running_loop()
    never = asyncio.Event()
    started: dict = {}

    async def slow(item):
        started[item] = loop.time()
        if item in (1, 3):
            await never.wait()
        return item

    failures: list = []

    async def dead(record):
        failures.append((record, loop.time()))

    spec = {
        "nodes": {
            "src": {"coro": range(5)},
            "slow": {"coro": slow, "timeout": 0.02, "on_error": "dlq"},
            "out": _keep(),
            "dlq": {"coro": dead},
        },
        "graph": {"src": ["slow"], "slow": ["out"], "out": None, "dlq": None},
    }
    result = await run_spec(spec)
    assert result.outputs["out"] == [0, 2, 4]
    assert result.stats["slow"].failed == 2
    assert [record.item for record, _ in failures] == [1, 3]
    assert all(isinstance(record.error, TimeoutError) for record, _ in failures)
    for record, at in failures:
        assert at - started[record.item] >= 0.02 - 1e-3


async def test_timeout_applies_to_each_attempt(recorded_sleeps):
    attempts: list = []
    never = asyncio.Event()

    async def slow(item):
        attempts.append(item)
        if len(attempts) < 3:
            await never.wait()
        return item

    spec = chain_spec(
        ("src", {"coro": ["x"]}),
        ("slow", {"coro": slow, "timeout": 0.01, "retries": 2, "retry_delay": 0.5}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == ["x"]
    assert attempts == ["x", "x", "x"]
    assert result.stats["slow"].retried == 2
    assert recorded_sleeps == [0.5, 0.5]


# -- on_error: raise -------------------------------------------------------------------------


async def test_default_on_error_stops_the_run_and_raises_pipeline_error(no_pending_tasks):
    original = ValueError("bad item")
    endless_closed: list = []

    async def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            endless_closed.append(True)

    async def boom(item):
        if item == 3:
            raise original
        return item

    spec = chain_spec(("src", {"coro": endless}), ("boom", {"coro": boom}), ("out", _keep()))
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    err = info.value
    assert err.node == "boom"
    assert err.item == "3"
    assert err.__cause__ is original
    assert err.attempts == 1
    assert str(err) == "node 'boom' failed on item 3: ValueError: bad item"
    assert endless_closed == [True]
    no_pending_tasks()


async def test_pipeline_error_carries_a_shortened_item_repr():
    big = "x" * 100_000

    async def boom(item):
        raise KeyError("nope")

    spec = chain_spec(("src", {"coro": [big]}), ("boom", {"coro": boom}))
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    err = info.value
    assert isinstance(err.item, str)
    assert err.item.startswith("'xxx")
    assert len(err.item) <= 300
    assert len(str(err)) < 500
    assert isinstance(err.__cause__, KeyError)


async def test_failure_of_a_plain_def_function_in_a_thread_is_chained():
    def boom(item):
        raise ZeroDivisionError(item)

    spec = chain_spec(("src", {"coro": [(1, 2)]}), ("boom", {"coro": boom}))
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    assert info.value.node == "boom"
    assert info.value.item == "(1, 2)"
    assert isinstance(info.value.__cause__, ZeroDivisionError)


async def test_a_failing_source_raises_naming_the_source():
    async def broken():
        yield 1
        raise ConnectionError("feed lost")

    spec = chain_spec(("feed", {"coro": broken}), ("out", _keep()))
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    assert info.value.node == "feed"
    assert info.value.item is None
    assert isinstance(info.value.__cause__, ConnectionError)


async def test_a_failing_upstream_sink_raises_naming_it():
    async def rig(self, output_q):
        await output_q.put("a")

    async def sink(self, q_elt):
        raise RuntimeError(q_elt)

    spec = {
        "nodes": {"rig": {"coro": rig}, "sink": {"coro": sink}},
        "graph": {"rig": ["sink"], "sink": None},
    }
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    assert info.value.node == "sink"
    assert info.value.item == "'a'"


async def test_failure_with_concurrency_raises_and_cancels_the_rest(no_pending_tasks):
    never = asyncio.Event()
    cancelled: list = []

    async def work(item):
        if item == 5:
            raise LookupError("five")
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(item)
            raise

    spec = chain_spec(("src", {"coro": range(6)}), ("w", {"coro": work, "concurrency": 8}))
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    assert info.value.node == "w"
    assert sorted(cancelled) == [0, 1, 2, 3, 4]
    no_pending_tasks()


# -- on_error: skip --------------------------------------------------------------------------


async def test_skip_counts_failures_and_goes_on(caplog):
    async def picky(item):
        if item % 3 == 0:
            raise ValueError(item)
        return item

    spec = chain_spec(
        ("src", {"coro": range(10)}), ("p", {"coro": picky, "on_error": "skip"}), ("out", _keep())
    )
    with caplog.at_level(logging.WARNING, logger="pipelines"):
        result = await run_spec(spec)
    assert result.status == "completed"
    assert result.outputs["out"] == [1, 2, 4, 5, 7, 8]
    stats = result.stats["p"]
    assert (stats.received, stats.emitted, stats.failed) == (10, 6, 4)


async def test_skip_in_an_async_generator_transform():
    async def explode(item):
        yield item
        if item == 1:
            raise ValueError("half way")
        yield item * 10

    spec = chain_spec(
        ("src", {"coro": [0, 1, 2]}), ("x", {"coro": explode, "on_error": "skip"}), ("out", _keep())
    )
    result = await run_spec(spec)
    assert result.stats["x"].failed == 1
    assert result.outputs["out"][:2] == [0, 0]
    assert result.outputs["out"][-2:] == [2, 20]


async def test_skip_with_ordered_concurrency_keeps_the_order_of_the_rest():
    gate_open = asyncio.Event()

    async def picky(item):
        if item == 0:
            await gate_open.wait()  # the first item finishes last
        if item % 4 == 1:
            raise ValueError(item)
        if item == 4:
            gate_open.set()
        return item

    spec = chain_spec(
        ("src", {"coro": range(12)}),
        ("p", {"coro": picky, "concurrency": 3, "on_error": "skip"}),
        ("out", _keep()),
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [i for i in range(12) if i % 4 != 1]
    assert result.stats["p"].failed == 3


async def test_retrying_an_async_generator_does_not_repeat_partial_results():
    attempts: dict = {}

    async def explode(item):
        attempts[item] = attempts.get(item, 0) + 1
        yield (item, "first")
        if item == 1 and attempts[item] == 1:
            raise ValueError("half way")
        yield (item, "second")

    spec = chain_spec(
        ("src", {"coro": [0, 1, 2]}), ("x", {"coro": explode, "retries": 1}), ("out", _keep())
    )
    result = await run_spec(spec)
    assert result.outputs["out"] == [(i, tag) for i in range(3) for tag in ("first", "second")]
    assert attempts == {0: 1, 1: 2, 2: 1}
    assert result.stats["x"].retried == 1


# -- on_error: dead letter -------------------------------------------------------------------


async def test_dead_letter_node_receives_records_and_the_run_completes(no_pending_tasks):
    errors: dict = {}

    async def picky(item):
        if item in (2, 5):
            errors[item] = ValueError(f"no {item}")
            raise errors[item]
        return item

    spec = {
        "nodes": {
            "src": {"coro": range(7)},
            "picky": {"coro": picky, "on_error": "dlq", "retries": 1},
            "out": _keep(),
            "dlq": _keep(),
        },
        "graph": {"src": ["picky"], "picky": ["out"], "out": None, "dlq": None},
    }
    result = await run_spec(spec)
    assert result.status == "completed"
    assert result.outputs["out"] == [0, 1, 3, 4, 6]
    records = result.outputs["dlq"]
    assert [type(r) for r in records] == [DeadLetter, DeadLetter]
    assert [(r.node, r.item, r.attempts) for r in records] == [("picky", 2, 2), ("picky", 5, 2)]
    assert records[0].error is errors[2] and records[1].error is errors[5]
    assert result.stats["picky"].failed == 2
    assert result.stats["dlq"].received == 2
    no_pending_tasks()


async def test_dead_letter_node_ends_when_every_node_routing_to_it_has_finished():
    release = asyncio.Event()

    async def fail_fast(item):
        raise ValueError(("fast", item))

    async def fail_late(item):
        await release.wait()
        raise ValueError(("late", item))

    async def src_a():
        yield 1
        yield 2

    async def src_b():
        yield 3

    async def dlq(record):
        if record.item == 2:
            release.set()  # the late node fails only after the fast one has finished
        return (record.node, record.item)

    spec = {
        "nodes": {
            "a": {"coro": src_a},
            "b": {"coro": src_b},
            "fast": {"coro": fail_fast, "on_error": "dlq"},
            "late": {"coro": fail_late, "on_error": "dlq"},
            "dlq": {"coro": dlq, "collect": True},
        },
        "graph": {"a": ["fast"], "b": ["late"], "fast": None, "late": None, "dlq": None},
    }
    result = await run_spec(spec)
    assert result.outputs["dlq"] == [("fast", 1), ("fast", 2), ("late", 3)]


async def test_a_source_failure_goes_to_the_dead_letter_node():
    async def broken():
        yield "ok"
        raise ConnectionError("lost")

    spec = {
        "nodes": {"feed": {"coro": broken, "on_error": "dlq"}, "out": _keep(), "dlq": _keep()},
        "graph": {"feed": ["out"], "out": None, "dlq": None},
    }
    result = await run_spec(spec)
    assert result.outputs["out"] == ["ok"]
    (record,) = result.outputs["dlq"]
    assert (record.node, record.item, record.attempts) == ("feed", None, 1)
    assert isinstance(record.error, ConnectionError)


async def test_a_dead_letter_node_can_also_take_graph_inputs_when_it_merges():
    async def picky(item):
        if item == "bad":
            raise ValueError(item)
        return item

    async def store(item):
        return item.item if isinstance(item, DeadLetter) else item

    spec = {
        "nodes": {
            "src": {"coro": ["a", "bad", "b"]},
            "picky": {"coro": picky, "on_error": "store"},
            "store": {"coro": store, "collect": True, "properties": {"aggregate_inputs": False}},
        },
        "graph": {"src": ["picky"], "picky": ["store"], "store": None},
    }
    result = await run_spec(spec)
    assert sorted(result.outputs["store"]) == ["a", "b", "bad"]


async def test_a_failing_dead_letter_node_raises():
    async def boom(item):
        raise ValueError("first")

    async def dlq(record):
        raise RuntimeError("dead letters broke")

    spec = {
        "nodes": {
            "src": {"coro": [1]},
            "w": {"coro": boom, "on_error": "dlq"},
            "dlq": {"coro": dlq},
        },
        "graph": {"src": ["w"], "w": None, "dlq": None},
    }
    with pytest.raises(PipelineError) as info:
        await run_spec(spec)
    assert info.value.node == "dlq"
    assert isinstance(info.value.__cause__, RuntimeError)


async def test_a_pipeline_error_carries_the_result_so_far():
    async def fail_on_three(x):
        if x == 3:
            raise ValueError("three")
        return x

    spec = {
        "nodes": {
            "src": {"coro": [0, 1, 2, 3, 4]},
            "check": {"coro": fail_on_three, "collect": True},
        },
        "graph": {"src": ["check"], "check": None},
    }
    with pytest.raises(PipelineError) as info:
        await Plumber(spec).run()
    result = info.value.result
    assert result.status == "failed"
    assert result.outputs["check"] == [0, 1, 2]
    assert (result.stats["check"].received, result.stats["check"].failed) == (4, 1)
