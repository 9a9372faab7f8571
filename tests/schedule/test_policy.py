"""Overlap, catch-up, queue bounds and lateness, simulated over hours and days: exact start
times and skip reasons from the pure decisions (no clock, no store, no sleeping)."""

from __future__ import annotations

import datetime as dt

from pipelines.schedule.policy import Decision, Situation, plan
from pipelines.schedule.timing import Window, timing_of, window
from pipelines.spec.schedule import ScheduleSpec

DAY0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
HOUR = 3600.0
MINUTE = 60.0


def hm(moment: float) -> str:
    """Time of day (and day, after the first): ``13:05`` or ``d2 01:00``."""
    days, rest = divmod(moment - DAY0, 86400)
    text = dt.datetime.fromtimestamp(DAY0 + rest, dt.UTC).strftime("%H:%M")
    return f"d{int(days) + 1} {text}" if days else text


def simulate(
    spec: ScheduleSpec,
    *,
    hours: float,
    run: float = 10 * MINUTE,
    tick: float = MINUTE,
    down: tuple[tuple[float, float], ...] = (),
    late_after: float | None = None,
    keep: int = 1000,
    start: float = DAY0,
) -> list[tuple[str, str, str]]:
    """A server ticking every ``tick`` s from ``start`` for ``hours`` (not while ``down``, as
    (from, to) in hours), runs lasting ``run`` s: [(tick time, occurrence, what happened)]."""
    timing = timing_of(spec)
    cursor = watching = start
    live: list[float] = []  # when each live run ends
    queue: list[float] = []
    log = []
    now = start
    was_down = False
    while now <= start + hours * HOUR:
        if any(start + a * HOUR <= now < start + b * HOUR for a, b in down):
            was_down = True
            now += tick
            continue
        if was_down:  # the server starts again: what fell due meanwhile was missed
            watching, was_down = now, False
        live = [end for end in live if end > now]
        due = window(timing, cursor, now, keep)
        situation = Situation(now, watching, len(live), tuple(queue))
        for decision in plan(spec, late_after, due, situation):
            if decision.action == "start":
                live.append(now + run)
            if decision.queued:
                queue.remove(decision.due)
            elif decision.action == "queue":
                queue.append(decision.due)
            log.append((hm(now), hm(decision.due), _what(decision)))
        cursor = now
        now += tick
    return log


def _what(decision: Decision) -> str:
    if decision.action == "skip":
        text = f"skip {decision.reason}"
        if decision.count != 1:
            text += f" x{decision.count} to {hm(decision.until)}"
        return text
    return decision.action


def test_hourly_runs_shorter_than_the_interval_start_every_hour_for_a_day():
    log = simulate(ScheduleSpec(interval=HOUR), hours=24)
    assert log == [(f"{h:02d}:00", f"{h:02d}:00", "start") for h in range(1, 24)] + [
        ("d2 00:00", "d2 00:00", "start")
    ]


def test_overlap_skip_skips_while_the_previous_run_runs():
    log = simulate(ScheduleSpec(interval=10 * MINUTE), hours=1, run=25 * MINUTE)
    assert log == [
        ("00:10", "00:10", "start"),  # runs until 00:35
        ("00:20", "00:20", "skip overlap"),
        ("00:30", "00:30", "skip overlap"),
        ("00:40", "00:40", "start"),  # until 01:05
        ("00:50", "00:50", "skip overlap"),
        ("01:00", "01:00", "skip overlap"),
    ]


def test_overlap_queue_runs_them_one_after_another_within_its_bound():
    spec = ScheduleSpec(interval=10 * MINUTE, overlap="queue", max_queued=2)
    log = simulate(spec, hours=1.5, run=25 * MINUTE)
    assert log == [
        ("00:10", "00:10", "start"),  # until 00:35
        ("00:20", "00:20", "queue"),
        ("00:30", "00:30", "queue"),
        ("00:35", "00:20", "start"),  # the oldest waiting starts once the run ended: until 01:00
        ("00:40", "00:40", "queue"),
        ("00:50", "00:50", "skip queue_full"),  # 00:30 and 00:40 wait: the bound is 2
        ("01:00", "00:30", "start"),  # until 01:25
        ("01:00", "01:00", "queue"),
        ("01:10", "01:10", "skip queue_full"),
        ("01:20", "01:20", "skip queue_full"),
        ("01:25", "00:40", "start"),
        ("01:30", "01:30", "queue"),
    ]


def test_overlap_allow_runs_up_to_max_active_at_once():
    spec = ScheduleSpec(interval=10 * MINUTE, overlap="allow", max_active=2)
    log = simulate(spec, hours=1, run=25 * MINUTE)
    assert log == [
        ("00:10", "00:10", "start"),  # until 00:35
        ("00:20", "00:20", "start"),  # until 00:45
        ("00:30", "00:30", "skip max_active"),
        ("00:40", "00:40", "start"),  # 00:10 ended at 00:35
        ("00:50", "00:50", "start"),
        ("01:00", "01:00", "skip max_active"),
    ]


def _after_a_night_down(spec: ScheduleSpec, **options):
    # Down from 02:10 to 05:35: 03:00, 04:00 and 05:00 were missed.
    return simulate(spec, hours=7, down=((2 + 10 / 60, 5 + 35 / 60),), **options)


def test_catchup_latest_runs_the_most_recent_missed_occurrence_once():
    log = _after_a_night_down(ScheduleSpec(interval=HOUR))
    assert log[2:] == [
        ("05:35", "03:00", "skip catchup"),
        ("05:35", "04:00", "skip catchup"),
        ("05:35", "05:00", "start"),
        ("06:00", "06:00", "start"),
        ("07:00", "07:00", "start"),
    ]
    assert log[:2] == [("01:00", "01:00", "start"), ("02:00", "02:00", "start")]


def test_catchup_none_skips_everything_missed():
    log = _after_a_night_down(ScheduleSpec(interval=HOUR, catchup="none"))
    assert log[2:] == [
        ("05:35", "03:00", "skip catchup"),
        ("05:35", "04:00", "skip catchup"),
        ("05:35", "05:00", "skip catchup"),
        ("06:00", "06:00", "start"),
        ("07:00", "07:00", "start"),
    ]


def test_catchup_all_with_overlap_skip_runs_the_first_and_skips_the_rest_as_overlap():
    log = _after_a_night_down(ScheduleSpec(interval=HOUR, catchup="all"))
    assert log[2:] == [
        ("05:35", "03:00", "start"),
        ("05:35", "04:00", "skip overlap"),
        ("05:35", "05:00", "skip overlap"),
        ("06:00", "06:00", "start"),
        ("07:00", "07:00", "start"),
    ]


def test_catchup_all_with_overlap_queue_runs_every_missed_one_in_order():
    spec = ScheduleSpec(interval=HOUR, catchup="all", overlap="queue")
    log = _after_a_night_down(spec, run=20 * MINUTE)
    assert log[2:] == [
        ("05:35", "03:00", "start"),  # until 05:55
        ("05:35", "04:00", "queue"),
        ("05:35", "05:00", "queue"),
        ("05:55", "04:00", "start"),  # until 06:15
        ("06:00", "06:00", "queue"),
        ("06:15", "05:00", "start"),  # until 06:35
        ("06:35", "06:00", "start"),
        ("07:00", "07:00", "start"),
    ]


def test_catchup_all_takes_at_most_keep_occurrences_one_by_one():
    spec = ScheduleSpec(interval=MINUTE, catchup="all", overlap="queue", max_queued=2)
    log = simulate(spec, hours=3, tick=MINUTE, down=((0.5, 2.5),), keep=4, run=30)
    back = [entry for entry in log if entry[0] == "02:30"]
    assert back == [
        ("02:30", "00:30", "skip catchup_limit x117 to 02:26"),
        ("02:30", "02:27", "start"),
        ("02:30", "02:28", "queue"),
        ("02:30", "02:29", "queue"),
        ("02:30", "02:30", "skip queue_full"),
    ]


def test_late_after_cancels_queued_runs_that_waited_too_long():
    spec = ScheduleSpec(interval=10 * MINUTE, overlap="queue")
    log = simulate(spec, hours=1, run=45 * MINUTE, late_after=20 * MINUTE)
    assert log == [
        ("00:10", "00:10", "start"),  # until 00:55
        ("00:20", "00:20", "queue"),
        ("00:30", "00:30", "queue"),
        ("00:40", "00:40", "queue"),
        ("00:41", "00:20", "late"),  # more than 20 minutes after its time, still waiting
        ("00:50", "00:50", "queue"),
        ("00:51", "00:30", "late"),
        ("00:55", "00:40", "start"),  # 15 minutes after its time: within late_after
        ("01:00", "01:00", "queue"),
    ]


def test_late_after_bounds_how_late_a_missed_occurrence_may_start():
    log = _after_a_night_down(ScheduleSpec(interval=HOUR), late_after=30 * MINUTE)
    assert log[2:5] == [
        ("05:35", "03:00", "skip catchup"),
        ("05:35", "04:00", "skip catchup"),
        ("05:35", "05:00", "late"),  # the latest missed one would start 35 minutes late
    ]
    log = _after_a_night_down(ScheduleSpec(interval=HOUR), late_after=40 * MINUTE)
    assert log[4] == ("05:35", "05:00", "start")


def test_a_disabled_schedule_skips_everything_and_never_catches_it_up():
    spec = ScheduleSpec(interval=HOUR, enabled=False, catchup="all")
    log = simulate(spec, hours=3, down=((1.5, 2.5),))
    assert log == [
        ("01:00", "01:00", "skip disabled"),
        ("02:30", "02:00", "skip disabled"),
        ("03:00", "03:00", "skip disabled"),
    ]
    assert plan(spec, None, Window([]), Situation(DAY0, DAY0, queued=(DAY0 - HOUR,))) == [
        Decision(DAY0 - HOUR, "skip", "disabled", queued=True)
    ]


def test_a_paused_schedule_skips_new_and_queued_occurrences_as_paused():
    spec = ScheduleSpec(interval=HOUR, overlap="queue")
    paused = Situation(DAY0, DAY0 - 5 * HOUR, queued=(DAY0 - HOUR,), paused=True)
    due = Window([DAY0], dropped_first=DAY0 - 3 * HOUR, dropped_last=DAY0 - 2 * HOUR, dropped=2)
    assert plan(spec, None, due, paused) == [
        Decision(DAY0 - HOUR, "skip", "paused", queued=True),
        Decision(DAY0 - 3 * HOUR, "skip", "paused", last=DAY0 - 2 * HOUR, count=2),
        Decision(DAY0, "skip", "paused"),
    ]
    # Disabled in the spec says so first, paused or not.
    off = ScheduleSpec(interval=HOUR, enabled=False)
    assert plan(off, None, Window([DAY0]), paused) == [
        Decision(DAY0 - HOUR, "skip", "disabled", queued=True),
        Decision(DAY0, "skip", "disabled"),
    ]


def test_a_late_tick_never_drops_an_occurrence():
    # The server's loop was blocked for 45 minutes: each occurrence is still decided, in
    # order, by the overlap policy; none is lost for being late (no grace period).
    spec = ScheduleSpec(interval=10 * MINUTE)
    log = simulate(spec, hours=1, tick=45 * MINUTE, start=DAY0 - 5 * MINUTE)
    assert log == [
        ("00:40", "00:00", "start"),
        ("00:40", "00:10", "skip overlap"),
        ("00:40", "00:20", "skip overlap"),
        ("00:40", "00:30", "skip overlap"),
        ("00:40", "00:40", "skip overlap"),
    ]


def test_a_cron_schedule_over_three_days_across_the_spring_change():
    spec = ScheduleSpec(cron="30 1,13,17 * * *", timezone="Europe/Madrid")
    start = dt.datetime(2024, 3, 30, tzinfo=dt.UTC).timestamp()
    log = simulate(spec, hours=72, tick=5 * MINUTE, start=start)
    madrid = [
        dt.datetime.fromtimestamp(DAY0 + _offset(tick), dt.UTC).isoformat() for tick, _, _ in log
    ]
    assert [what for _, _, what in log] == ["start"] * 10
    assert madrid == [
        "2024-03-30T00:30:00+00:00",  # 01:30 in Madrid (winter: UTC+1)
        "2024-03-30T12:30:00+00:00",
        "2024-03-30T16:30:00+00:00",
        "2024-03-31T00:30:00+00:00",  # 01:30, just before the change at 02:00
        "2024-03-31T11:30:00+00:00",  # 13:30 in Madrid (summer: UTC+2)
        "2024-03-31T15:30:00+00:00",
        "2024-03-31T23:30:00+00:00",
        "2024-04-01T11:30:00+00:00",
        "2024-04-01T15:30:00+00:00",
        "2024-04-01T23:30:00+00:00",
    ]


def _offset(text: str) -> float:
    day, _, clock = text.rpartition(" ")
    hours, minutes = map(int, clock.split(":"))
    return (int(day[1:]) - 1 if day else 0) * 86400 + hours * HOUR + minutes * MINUTE


def test_a_week_of_minutely_runs_lasting_90_seconds():
    log = simulate(ScheduleSpec(interval=MINUTE), hours=24 * 7, run=90)
    starts = [due for _, due, what in log if what == "start"]
    skips = [due for _, due, what in log if what == "skip overlap"]
    assert len(log) == 7 * 24 * 60
    assert (len(starts), len(skips)) == (5040, 5040)  # every other minute: one run, one skip
    assert starts[:3] == ["00:01", "00:03", "00:05"] and skips[:3] == ["00:02", "00:04", "00:06"]
