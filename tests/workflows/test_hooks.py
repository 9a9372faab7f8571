"""Hooks around a node's calls and around a run: order, retries, sync or async, validation."""

from __future__ import annotations

import itertools

import pytest

from pipelines import PipelineError, Plumber, SpecError


def _spec(hooks, node=None, run_hooks=None, items=(1, 2, 3)):
    async def work(x):
        if x == 2 and (node or {}).get("fail_on_two"):
            raise ValueError("two")
        return x * 10

    options = {k: v for k, v in (node or {}).items() if k != "fail_on_two"}
    spec = {
        "nodes": {
            "src": {"coro": list(items)},
            "work": {"coro": work, "hooks": hooks, "collect": True, **options},
        },
        "graph": {"src": ["work"], "work": None},
    }
    if run_hooks:
        spec["hooks"] = run_hooks
    return spec


async def test_before_around_after_are_called_in_order_per_item():
    calls = []

    def before(item):
        calls.append(("before", item))

    async def around(call, item):
        calls.append(("around in", item))
        result = await call(item)
        calls.append(("around out", result))
        return result + 1

    async def after(item, result):
        calls.append(("after", item, result))

    result = await Plumber(_spec({"before": before, "around": around, "after": after})).run()
    assert result.outputs["work"] == [11, 21, 31]
    assert calls == [
        ("before", 1), ("around in", 1), ("around out", 10), ("after", 1, 11),
        ("before", 2), ("around in", 2), ("around out", 20), ("after", 2, 21),
        ("before", 3), ("around in", 3), ("around out", 30), ("after", 3, 31),
    ]  # fmt: skip


async def test_on_error_sees_the_final_failure_after_retries_then_the_policy_applies():
    seen = []
    attempts = itertools.count()

    async def flaky(x):
        if x == 2:
            next(attempts)
            raise ValueError("two")
        return x

    def on_error(item, error):
        seen.append((item, type(error).__name__, str(error)))

    spec = {
        "nodes": {
            "src": {"coro": [1, 2, 3]},
            "w": {
                "coro": flaky,
                "retries": 2,
                "on_error": "skip",
                "hooks": {"on_error": on_error, "before": lambda item: seen.append(("b", item))},
                "collect": True,
            },
        },
        "graph": {"src": ["w"], "w": None},
    }
    result = await Plumber(spec).run()
    assert result.outputs["w"] == [1, 3]
    assert next(attempts) == 3  # three attempts of item 2, one before hook
    assert seen == [("b", 1), ("b", 2), (2, "ValueError", "two"), ("b", 3)]
    assert result.stats["w"].failed == 1 and result.stats["w"].retried == 2


async def test_around_can_retry_or_replace_a_result():
    async def around(call, item):
        try:
            return await call(item)
        except ValueError:
            return -1

    result = await Plumber(_spec({"around": around}, {"fail_on_two": True})).run()
    assert result.outputs["work"] == [10, -1, 30]


async def test_a_hook_that_raises_fails_the_item():
    def before(item):
        if item == 3:
            raise RuntimeError("hook broke")

    with pytest.raises(PipelineError) as caught:
        await Plumber(_spec({"before": before})).run()
    assert caught.value.node == "work" and caught.value.item == "3"
    assert isinstance(caught.value.__cause__, RuntimeError)


async def test_hooks_with_concurrency_and_timeout():
    seen = []

    async def slow(call, item):
        seen.append(item)
        return await call(item)

    result = await Plumber(_spec({"around": slow}, {"concurrency": 3, "timeout": 5})).run()
    assert result.outputs["work"] == [10, 20, 30]
    assert sorted(seen) == [1, 2, 3]


async def test_run_hooks_before_after_and_on_error():
    calls = []

    async def before_run():
        calls.append("before_run")

    def after_run(result):
        calls.append(("after_run", result.status, result.outputs["work"]))

    def on_error(error):
        calls.append(("on_error", type(error).__name__))

    hooks = {"before_run": before_run, "after_run": after_run, "on_error": on_error}
    await Plumber(_spec(None, run_hooks=hooks)).run()
    assert calls == ["before_run", ("after_run", "completed", [10, 20, 30])]
    calls.clear()
    with pytest.raises(PipelineError):
        await Plumber(_spec(None, {"fail_on_two": True}, run_hooks=hooks)).run()
    assert calls == ["before_run", ("on_error", "PipelineError")]


async def test_a_failing_before_run_hook_fails_the_run_before_any_node():
    ran = []

    def before_run():
        raise RuntimeError("not today")

    spec = _spec({"before": ran.append}, run_hooks={"before_run": before_run})
    with pytest.raises(PipelineError) as caught:
        await Plumber(spec).run()
    assert caught.value.node == "hooks.before_run"
    assert ran == []


def _problems(spec):
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    return [str(p) for p in caught.value.problems]


def test_hook_signatures_are_checked_with_the_spec():
    def two(a, b):
        pass

    problems = _problems(_spec({"before": two, "around": "json:nope", "later": print}))
    assert problems == [
        "nodes.work.hooks.before: test_hook_signatures_are_checked_with_the_spec.<locals>.two(a, b) "
        "cannot be called as before(item): missing a required argument: 'b'",
        "nodes.work.hooks.around: cannot import 'json:nope': 'json' has no attribute 'nope'",
        "nodes.work.hooks.later: unknown hook (known: before, after, around, on_error)",
    ]


def test_run_hook_signatures_are_checked():
    problems = _problems(_spec(None, run_hooks={"after_run": lambda: None}))
    assert len(problems) == 1
    assert problems[0].startswith("hooks.after_run: ") and "after_run(result)" in problems[0]


def test_a_source_takes_only_an_on_error_hook():
    async def numbers():
        yield 1

    spec = {
        "nodes": {
            "src": {"coro": numbers, "hooks": {"before": print}},
            "out": {"coro": lambda x: x},
        },
        "graph": {"src": ["out"], "out": None},
    }
    assert _problems(spec) == [
        "nodes.src.hooks.before: a source is not called per item: only on_error applies to it"
    ]


async def test_a_source_s_on_error_hook_sees_its_failure():
    seen = []

    async def numbers():
        yield 1
        raise ValueError("dry")

    async def keep(x):
        return x

    spec = {
        "nodes": {
            "src": {
                "coro": numbers,
                "on_error": "skip",
                "hooks": {"on_error": lambda item, error: seen.append((item, str(error)))},
            },
            "out": {"coro": keep, "collect": True},
        },
        "graph": {"src": ["out"], "out": None},
    }
    result = await Plumber(spec).run()
    assert result.outputs["out"] == [1]
    assert seen == [(None, "dry")]


async def test_hooks_from_import_strings_in_a_spec_file(tmp_path):
    (tmp_path / "hk_funcs.py").write_text(
        "SEEN = []\n"
        "def before(item):\n    SEEN.append(item)\n"
        "async def double(x):\n    return 2 * x\n"
    )
    (tmp_path / "g.yaml").write_text(
        "nodes:\n"
        "  src: {coro: [1, 2]}\n"
        "  w: {coro: 'hk_funcs:double', hooks: {before: 'hk_funcs:before'}, collect: true}\n"
        "graph:\n  src: [w]\n  w: null\n"
    )
    plumber = Plumber.from_file(tmp_path / "g.yaml")
    result = await plumber.run()
    assert result.outputs["w"] == [2, 4]
    assert plumber.plan.nodes["w"].hooks.before.__module__.endswith("hk_funcs")
    assert plumber.plan.nodes["w"].hooks.before.__globals__["SEEN"] == [1, 2]
