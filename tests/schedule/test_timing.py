"""When occurrences fall: intervals on the epoch, cron in a time zone (DST included), bounded spans."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest

from pipelines.schedule.timing import COUNT_LIMIT, CronTiming, IntervalTiming, Window, window

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")


def at(zone, *fields, fold=0) -> float:
    return dt.datetime(*fields, tzinfo=zone, fold=fold).timestamp()


def local(zone, moments) -> list[str]:
    return [dt.datetime.fromtimestamp(m, zone).isoformat() for m in moments]


def first(timing, moment, n) -> list[float]:
    return list(itertools.islice(timing.iterate(moment), n))


def test_an_interval_falls_on_multiples_of_itself_since_the_epoch():
    timing = IntervalTiming(60.0)
    assert timing.after(1_700_000_000.0) == 1_700_000_040.0  # the next whole minute
    assert timing.after(1_700_000_040.0) == 1_700_000_100.0  # strictly after
    assert IntervalTiming(1.5).after(10.0) == 10.5
    assert IntervalTiming(3600.0).after(at(dt.UTC, 2024, 1, 1, 12, 0, 1)) == at(
        dt.UTC, 2024, 1, 1, 13
    )


def test_an_interval_window_keeps_the_newest_and_counts_the_rest():
    timing = IntervalTiming(7.0)
    assert window(timing, 100.0, 200.0, 100) == Window([105.0 + 7 * k for k in range(14)])
    assert window(timing, 100.0, 200.0, 3) == Window([182.0, 189.0, 196.0], 11, 105.0, 175.0)
    assert window(timing, 105.0, 112.0, 3) == Window([112.0])  # (after, until]
    assert window(timing, 100.0, 104.0, 3).empty
    assert window(timing, 200.0, 100.0, 3).empty
    year = window(IntervalTiming(1.0), 0.0, 365 * 86400.0, 2)  # O(keep), not a year of steps
    assert year == Window([31535999.0, 31536000.0], 31535998, 1.0, 31535998.0)


def test_cron_gives_wall_clock_times_in_its_zone():
    timing = CronTiming("30 1,13,17 * * *", "Europe/Madrid")
    assert local(MADRID, first(timing, at(MADRID, 2024, 3, 30, 12), 6)) == [
        "2024-03-30T13:30:00+01:00",
        "2024-03-30T17:30:00+01:00",
        "2024-03-31T01:30:00+01:00",
        "2024-03-31T13:30:00+02:00",  # after the change to summer time: still 13:30 in Madrid
        "2024-03-31T17:30:00+02:00",
        "2024-04-01T01:30:00+02:00",
    ]
    assert CronTiming("@daily").after(at(dt.UTC, 2024, 1, 1, 0, 0, 1)) == at(dt.UTC, 2024, 1, 2)


def test_a_wall_time_skipped_in_spring_runs_once_at_the_end_of_the_gap():
    timing = CronTiming("30 2 * * *", "Europe/Madrid")
    assert local(MADRID, first(timing, at(MADRID, 2024, 3, 29, 12), 3)) == [
        "2024-03-30T02:30:00+01:00",
        "2024-03-31T03:00:00+02:00",  # 02:30 does not exist that night: 03:00, once
        "2024-04-01T02:30:00+02:00",
    ]
    every_quarter = CronTiming("*/15 1-3 * * *", "Europe/Madrid")
    assert local(MADRID, first(every_quarter, at(MADRID, 2024, 3, 31, 1, 40), 4)) == [
        "2024-03-31T01:45:00+01:00",
        "2024-03-31T03:00:00+02:00",  # 02:00, 02:15, 02:30, 02:45 and 03:00 itself: once
        "2024-03-31T03:15:00+02:00",
        "2024-03-31T03:30:00+02:00",
    ]


def test_a_wall_time_repeated_in_autumn_runs_once_at_its_first_pass():
    timing = CronTiming("30 2 * * *", "Europe/Madrid")
    assert local(MADRID, first(timing, at(MADRID, 2024, 10, 26, 12), 2)) == [
        "2024-10-27T02:30:00+02:00",  # the first 02:30 (summer time); the second is not a run
        "2024-10-28T02:30:00+01:00",
    ]
    every_half = CronTiming("*/30 2 * * *", "Europe/Madrid")
    # From inside the repeated hour (its second pass), nothing of that hour comes again.
    inside = at(MADRID, 2024, 10, 27, 2, 10, fold=1)
    assert local(MADRID, [every_half.after(inside)]) == ["2024-10-28T02:00:00+01:00"]


def test_a_half_hour_daylight_saving_gap():
    zone = zoneinfo.ZoneInfo("Australia/Lord_Howe")
    timing = CronTiming("0 * * * *", "Australia/Lord_Howe")
    assert local(zone, first(timing, at(zone, 2024, 10, 6, 0, 30), 3)) == [
        "2024-10-06T01:00:00+10:30",
        "2024-10-06T02:30:00+11:00",  # 02:00 falls in the gap 02:00-02:30
        "2024-10-06T03:00:00+11:00",
    ]


def test_a_cron_window_keeps_the_newest_and_counts_the_older_ones():
    timing = CronTiming("0 * * * *")
    start = at(dt.UTC, 2024, 1, 1)
    assert window(timing, start, start + 5 * 3600, 2) == Window(
        [start + 4 * 3600, start + 5 * 3600], 3, start + 3600, start + 3 * 3600
    )
    assert window(timing, start, start + 1800, 2).empty


def test_a_cron_window_too_long_to_count_is_bounded():
    timing = CronTiming("* * * * *")  # every minute, for 60 days: 86,400 occurrences
    start = at(dt.UTC, 2024, 1, 1)
    end = start + 60 * 86400
    found = window(timing, start, end, 3)
    assert found == Window([end - 120, end - 60, end], None, start + 60, end - 180)
    assert COUNT_LIMIT < 86_400


@pytest.mark.parametrize("zone", ["UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata"])
def test_cron_occurrences_always_move_forward(zone):
    timing = CronTiming("*/30 * * * *", zone)
    moments = first(timing, at(dt.UTC, 2024, 3, 9), 24 * 2 * 300)  # 300 days, both changes
    assert all(b > a for a, b in itertools.pairwise(moments))
