"""``schedule:``, ``cycle:`` and ``watchdog:`` in a spec: validated with key paths, all at once."""

from __future__ import annotations

import pytest

from pipelines import Plumber, SpecError
from pipelines.spec.cycle import ONCE, CycleSpec
from pipelines.spec.durations import parse_duration, seconds_value
from pipelines.spec.limits import NO_LIMITS, WatchdogSpec
from pipelines.spec.schedule import ScheduleSpec


async def numbers():
    yield 1


async def keep(x, factor=1):
    return x * factor


def enough(result):
    return True


def two_args(a, b):
    return True


def _spec(**top):
    spec = {
        "nodes": {"src": {"coro": numbers}, "out": {"coro": keep}},
        "graph": {"src": ["out"], "out": None},
        "resources": {"db": {"factory": "contextlib:nullcontext"}},
    }
    spec.update(top)
    return spec


def _problems(**top) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        Plumber(_spec(**top))
    return {p.path: p.message for p in info.value.problems}


def test_no_schedule_cycle_or_watchdog_gives_the_defaults():
    spec = Plumber(_spec()).plan.spec
    assert (spec.schedule, spec.cycle, spec.watchdog) == (None, ONCE, NO_LIMITS)
    assert spec.cycle.once and not spec.cycle.forever


def test_an_interval_schedule_with_its_defaults():
    spec = Plumber(_spec(schedule={"interval": 60})).plan.spec
    assert spec.schedule == ScheduleSpec(interval=60.0)
    assert (spec.schedule.overlap, spec.schedule.catchup, spec.schedule.enabled) == (
        "skip",
        "latest",
        True,
    )
    assert spec.schedule.describe() == "every 60 s"


def test_a_cron_schedule_in_a_time_zone_with_every_key():
    schedule = {
        "cron": "30 1,13,17 * * *",
        "timezone": "Europe/Madrid",
        "overlap": "queue",
        "max_queued": 3,
        "catchup": "all",
        "parameters": {"out.factor": 2, "resources.db.enter_result": 5},
        "enabled": False,
    }
    spec = Plumber(_spec(schedule=schedule)).plan.spec
    assert spec.schedule == ScheduleSpec(
        cron="30 1,13,17 * * *",
        timezone="Europe/Madrid",
        overlap="queue",
        max_queued=3,
        catchup="all",
        parameters={"out.factor": 2, "resources.db.enter_result": 5},
        enabled=False,
    )
    assert spec.schedule.describe() == "cron 30 1,13,17 * * * (Europe/Madrid)"
    assert spec.schedule.as_dict() == {
        "cron": "30 1,13,17 * * *",
        "timezone": "Europe/Madrid",
        "overlap": "queue",
        "max_queued": 3,
        "catchup": "all",
        "enabled": False,
        "parameters": {"out.factor": 2, "resources.db.enter_result": 5},
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("2d", 172800.0)],
)
def test_an_interval_is_seconds_or_a_duration(text, seconds):
    assert Plumber(_spec(schedule={"interval": text})).plan.spec.schedule.interval == seconds


def test_cron_aliases_and_yaml_false_for_catchup():
    spec = Plumber(_spec(schedule={"cron": "@hourly", "catchup": False})).plan.spec
    assert (spec.schedule.cron, spec.schedule.catchup) == ("@hourly", "none")


def test_every_schedule_problem_is_reported_with_its_key_path_at_once():
    assert _problems(
        schedule={
            "cron": "61 * * * *",
            "timezone": "Europe/Madird",
            "overlap": "sometimes",
            "catchup": "everything",
            "max_active": 3,
            "max_queued": 5,
            "enabled": "yes",
            "parameters": {"nowhere.n": 1, "flat": 2, "resources.cache.size": 3},
            "every": 5,
        }
    ) == {
        "schedule.every": "unknown key (known: interval, cron, timezone, overlap, max_active,"
        " max_queued, catchup, parameters, enabled)",
        "schedule.cron": "'61 * * * *' is not a cron expression: [61 * * * *] is not acceptable,"
        " out of range",
        "schedule.timezone": "unknown time zone 'Europe/Madird' (an IANA name such as"
        " 'Europe/Madrid' or 'UTC')",
        "schedule.overlap": "must be one of skip, queue, allow, got 'sometimes'",
        "schedule.catchup": "must be one of none, latest, all, got 'everything'",
        "schedule.max_active": "applies to overlap: allow only",
        "schedule.max_queued": "applies to overlap: queue only",
        "schedule.enabled": "must be true or false, got 'yes'",
        "schedule.parameters.nowhere.n": "no node named 'nowhere' (nodes: out, src)",
        "schedule.parameters.flat": "expected NODE.ARG (or resources.NAME.ARG)",
        "schedule.parameters.resources.cache.size": "no resource named 'cache' (resources: db)",
    }


@pytest.mark.parametrize(
    ("schedule", "path", "message"),
    [
        ({}, "schedule", "give exactly one of interval (seconds) or cron"),
        ({"interval": 5, "cron": "* * * * *"}, "schedule", "give exactly one of interval"),
        ("hourly", "schedule", "must be a mapping with interval or cron, e.g. {interval: 60}"),
        ({"interval": 0.5}, "schedule.interval", "must be a number of seconds from 1 to"),
        (
            {"interval": "soon"},
            "schedule.interval",
            "or a duration like 30s, 5m, 1h30m, got 'soon'",
        ),
        ({"interval": None}, "schedule.interval", "must be a number of seconds, got None"),
        ({"interval": 60, "timezone": "UTC"}, "schedule.timezone", "applies to cron only"),
        ({"cron": "* * * *"}, "schedule.cron", "give 5 fields (minute hour day-of-month"),
        ({"cron": "* * * * * *"}, "schedule.cron", "give 5 fields"),
        ({"cron": "@often"}, "schedule.cron", "'@often' is not a cron alias (known: @yearly"),
        ({"cron": "0 0 30 2 *"}, "schedule.cron", "'0 0 30 2 *' never occurs"),
        ({"cron": 5}, "schedule.cron", "must be a cron expression such as '30 1,13,17 * * *'"),
        ({"cron": "@daily", "timezone": 3}, "schedule.timezone", "must be a time zone name"),
        (
            {"interval": 9, "overlap": "allow", "max_active": 0},
            "schedule.max_active",
            "must be an integer from 1 to 1,000, got 0",
        ),
        (
            {"interval": 9, "overlap": "queue", "max_queued": 5000},
            "schedule.max_queued",
            "must be an integer from 1 to 1,000, got 5000",
        ),
        (
            {"interval": 9, "parameters": [1]},
            "schedule.parameters",
            "must be a mapping of NODE.ARG",
        ),
    ],
)
def test_a_wrong_schedule_is_a_problem_with_its_path(schedule, path, message):
    problems = _problems(schedule=schedule)
    assert list(problems) == [path]
    assert message in problems[path]


def test_cycles_once_forever_times_until_and_pause():
    assert Plumber(_spec(cycle="once")).plan.spec.cycle == ONCE
    forever = Plumber(_spec(cycle="forever")).plan.spec.cycle
    assert forever.forever and forever.describe() == "forever"
    assert Plumber(_spec(cycle={"times": 3})).plan.spec.cycle == CycleSpec(times=3)
    until = Plumber(_spec(cycle={"until": enough, "times": 10, "pause": "2s"})).plan.spec.cycle
    assert (until.until, until.times, until.pause) == (enough, 10, 2.0)
    assert until.describe() == "until enough (at most 10 times), 2 s apart"
    paused = Plumber(_spec(cycle={"pause": 1})).plan.spec.cycle
    assert paused.forever and paused.describe() == "forever, 1 s apart"


def test_cycle_until_is_an_import_string_resolved_beside_the_spec(tmp_path):
    (tmp_path / "preds.py").write_text("def done(result):\n    return result.status\n")
    spec = _spec(cycle={"until": "preds:done"})
    cycle = Plumber(spec, base_dir=tmp_path).plan.spec.cycle
    assert cycle.until_name == "preds:done" and cycle.until.__name__ == "done"


def test_every_cycle_problem_is_reported():
    assert _problems(cycle={"times": 0, "until": "nowhere:fn", "pause": -1, "every": 2}) == {
        "cycle.every": "unknown key (known: times, until, pause)",
        "cycle.times": "must be an integer from 1 to 1,000,000, got 0",
        "cycle.pause": "must be a number of seconds from 0 to 31,536,000, or a duration like"
        " 30s, 5m, 1h30m, got -1",
        "cycle.until": "cannot import 'nowhere:fn': no module named 'nowhere'",
    }
    assert _problems(cycle="twice") == {
        "cycle": "must be once, forever, or a mapping with times, until and/or pause, got 'twice'"
    }
    assert _problems(cycle={}) == {"cycle": "an empty mapping: give times, until and/or pause"}
    assert _problems(cycle={"until": two_args}) == {
        "cycle.until": "two_args(a, b) cannot be called as until(result)"
    }


def test_watchdog_limits_in_seconds_or_durations():
    spec = Plumber(
        _spec(
            schedule={"interval": 60},
            watchdog={"run_timeout": "2h", "stall_timeout": 600, "late_after": "4h"},
        )
    ).plan.spec
    assert spec.watchdog == WatchdogSpec(
        run_timeout=7200.0, stall_timeout=600.0, late_after=14400.0
    )
    assert spec.watchdog.as_dict() == {
        "run_timeout": 7200.0,
        "stall_timeout": 600.0,
        "late_after": 14400.0,
    }
    assert WatchdogSpec(run_timeout=5).or_else(WatchdogSpec(run_timeout=9, late_after=3)) == (
        WatchdogSpec(run_timeout=5, late_after=3)
    )


def test_every_watchdog_problem_is_reported():
    assert _problems(
        watchdog={"run_timeout": 0, "stall_timeout": "soon", "late_after": 60, "grace": 1}
    ) == {
        "watchdog.grace": "unknown key (known: run_timeout, stall_timeout, late_after)",
        "watchdog.run_timeout": "must be a number of seconds from 1 to 31,536,000, or a duration"
        " like 30s, 5m, 1h30m, got 0",
        "watchdog.stall_timeout": "must be a number of seconds from 1 to 31,536,000, or a"
        " duration like 30s, 5m, 1h30m, got 'soon'",
        "watchdog.late_after": "only scheduled runs can be late, and this spec has no schedule",
    }
    assert _problems(watchdog=[1]) == {
        "watchdog": "must be a mapping of run_timeout, stall_timeout, late_after (seconds)"
    }


def test_schedule_problems_come_with_the_other_problems_of_the_spec():
    spec = _spec(schedule={"interval": -1})
    spec["nodes"]["out"]["concurrency"] = 0
    with pytest.raises(SpecError) as info:
        Plumber(spec)
    assert [p.path for p in info.value.problems] == [
        "schedule.interval",
        "nodes.out.concurrency",
    ]


def test_a_subgraph_file_cannot_have_a_schedule(tmp_path):
    (tmp_path / "inner.yaml").write_text(
        "nodes: {a: {coro: 'builtins:abs'}}\ngraph: {a: null}\nschedule: {interval: 5}\n"
    )
    spec = {
        "nodes": {"src": {"coro": numbers}, "sub": {"subgraph": "inner.yaml", "input": "a"}},
        "graph": {"src": ["sub"], "sub": None},
    }
    with pytest.raises(SpecError) as info:
        Plumber(spec, base_dir=tmp_path)
    assert [p.path for p in info.value.problems] == ["nodes.sub.subgraph.schedule"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("12h", 43200),
        ("7d", 604800),
        ("2w", 1209600),
        ("1d12h", 129600),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_seconds_values_are_bounded():
    assert seconds_value(0, minimum=1, allow_zero=True) == 0
    for bad in (True, None, [1], float("nan"), float("inf"), 10**400, "2y", 0.5):
        with pytest.raises(ValueError, match="must be a number of seconds from 1 to 31,536,000"):
            seconds_value(bad, minimum=1)


def test_cycles_are_refused_with_a_redis_transport():
    spec = {
        "nodes": {
            "src": {"coro": "builtins:range", "args": {"stop": 3}},
            "out": {"coro": "builtins:abs"},
        },
        "graph": {"src": ["out"], "out": None},
        "transport": {"redis": "redis://127.0.0.1:6379/0"},
        "cycle": {"times": 2},
    }
    with pytest.raises(SpecError) as info:
        Plumber(spec)
    assert {p.path: p.message for p in info.value.problems} == {
        "cycle": "is not supported with transport.redis yet (docs/distributed.md); run it locally"
    }
