"""Schedules in the store: the migration, claims, skips sharing a row, bounded history."""

from __future__ import annotations

import sqlite3

import pytest

from pipelines.store import Store
from pipelines.store import schedules as book
from pipelines.store.schema import MIGRATIONS

T0 = 1_700_000_000.0


def _old_store(path, version: int, row: str) -> None:
    """A store made by a pipelines at schema ``version``, holding what ``row`` inserts."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        conn.executescript(script)
    conn.execute(row)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def test_an_older_store_gets_the_schedule_tables_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.db"
    _old_store(  # made before the schedules' migration (the third)
        path,
        2,
        "INSERT INTO runs (id, pipeline, status, trigger, started_at, updated_at, progress_at,"
        " spec_hash, parameters) VALUES ('abc', 'etl', 'completed', 'cli', 1, 2, 2, 'h', '{}')",
    )
    with Store(path) as store:
        run = store.run("abc")
        assert (run.status, run.cycle_of, run.cycle) == ("completed", None, None)
        with store.transaction() as conn:
            book.register(conn, "etl", {"interval": 60}, "every 60 s", "h", True, T0)
        assert book.get(store.connection(), "etl").cursor == T0


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "runs.db") as s:
        with s.transaction() as conn:
            book.register(conn, "etl", {}, "every 1 s", "h", True, T0)
        yield s


def test_registering_again_keeps_the_cursor_and_takes_the_new_definition(store):
    with store.transaction() as conn:
        book.set_cursor(conn, "etl", T0 + 50, T0 + 51, None, T0 + 50)
        row = book.register(
            conn, "etl", {"cron": "@daily"}, "cron @daily (UTC)", "h2", False, T0 + 60
        )
    assert (row.cursor, row.definition, row.description, row.enabled, row.spec_hash) == (
        T0 + 50,
        {"cron": "@daily"},
        "cron @daily (UTC)",
        False,
        "h2",
    )


def test_a_store_made_before_pauses_gets_its_schedules_unpaused(tmp_path):
    path = tmp_path / "old.db"
    _old_store(  # made up to the schedules' migration, before pauses
        path,
        3,
        "INSERT INTO schedules (name, definition, description, spec_hash, enabled, cursor,"
        " created_at, updated_at) VALUES ('etl', '{}', 'every 1 s', 'h', 1, 5, 1, 2)",
    )
    with Store(path) as store:
        row = book.get(store.connection(), "etl")
        assert (row.cursor, row.paused_at, row.runs) == (5, None, True)


def test_a_pause_is_kept_when_the_schedule_is_registered_again_until_it_is_resumed(store):
    with store.transaction() as conn:
        first = book.set_paused(conn, "etl", True, T0 + 10)
        again = book.set_paused(conn, "etl", True, T0 + 20)  # keeps the first pause time
        registered = book.register(conn, "etl", {}, "every 1 s", "h2", True, T0 + 30)
    assert (first.paused_at, again.paused_at, registered.paused_at) == (T0 + 10,) * 3
    assert (registered.enabled, registered.runs) == (True, False)
    record = book.record(store.connection(), "etl", 0).as_json()
    assert (record["paused"], record["next_at"]) == (True, None)
    assert record["paused_at"] == "2023-11-14T22:13:30.000Z"
    with store.transaction() as conn:
        resumed = book.set_paused(conn, "etl", False, T0 + 40)
        assert book.set_paused(conn, "nope", True, T0 + 40) is None
    assert (resumed.paused_at, resumed.runs, resumed.updated_at) == (None, True, T0 + 40)


def test_an_occurrence_is_claimed_once(store):
    with store.transaction() as conn:
        assert book.claim(conn, "etl", T0 + 1, "started", None, T0, "aaaaaaaaaaaa")
        assert not book.claim(conn, "etl", T0 + 1, "queued", None, T0)
        assert not book.claim(conn, "etl", T0 + 1, "started", None, T0, "bbbbbbbbbbbb")
    (only,) = book.occurrences(store.connection(), "etl")
    assert (only.fate, only.run_id) == ("started", "aaaaaaaaaaaa")


def test_consecutive_skips_for_one_reason_share_a_row(store):
    with store.transaction() as conn:
        book.skip(conn, "etl", T0 + 1, T0 + 1, 1, "overlap", None, T0)
        book.skip(conn, "etl", T0 + 2, T0 + 5, 4, "overlap", None, T0)
        book.skip(conn, "etl", T0 + 6, T0 + 6, 1, "catchup", None, T0)
        book.skip(conn, "etl", T0 + 7, T0 + 9, None, "catchup", None, T0)  # too many to count
        book.claim(conn, "etl", T0 + 10, "started", None, T0, "cccccccccccc")
        book.skip(conn, "etl", T0 + 11, T0 + 11, 1, "overlap", None, T0)
    rows = [
        (o.due_at - T0, o.last_due - T0, o.count, o.fate, o.reason)
        for o in reversed(book.occurrences(store.connection(), "etl"))
    ]
    assert rows == [
        (1, 5, 5, "skipped", "overlap"),
        (6, 9, None, "skipped", "catchup"),
        (10, 10, 1, "started", None),
        (11, 11, 1, "skipped", "overlap"),
    ]


def test_history_is_bounded_but_queued_occurrences_stay(store):
    with store.transaction() as conn:
        book.claim(conn, "etl", T0 + 1, "queued", None, T0)
        for k in range(2, 12):
            book.claim(conn, "etl", T0 + k, "started", None, T0, f"{k:012d}")
        assert book.prune_occurrences(conn, "etl", keep=3) == 7
    kept = sorted(o.due_at - T0 for o in book.occurrences(store.connection(), "etl"))
    assert kept == [1, 9, 10, 11]
    assert [o.due_at - T0 for o in book.queued(store.connection(), "etl")] == [1]


def test_a_start_goes_back_to_the_queue_only_while_its_run_is_not_recorded(store):
    with store.transaction() as conn:
        book.claim(conn, "etl", T0 + 1, "started", None, T0, "dddddddddddd")
        book.claim(conn, "etl", T0 + 2, "started", None, T0, "abc")
        conn.execute(
            "INSERT INTO runs (id, pipeline, status, trigger, started_at, updated_at,"
            " progress_at, spec_hash, parameters) VALUES"
            " ('abc', 'etl', 'running', 'schedule', 1, 1, 1, 'h', '{}')"
        )
        assert book.unstart(conn, "etl", T0 + 1, "queued", T0)
        assert not book.unstart(conn, "etl", T0 + 2, "skipped", T0, "error")
    by_time = {
        o.due_at - T0: (o.fate, o.run_id) for o in book.occurrences(store.connection(), "etl")
    }
    assert by_time == {1: ("queued", None), 2: ("started", "abc")}
    record = book.record(store.connection(), "etl")
    assert (record.queued, record.last_status, record.last_run.run_id) == (1, "running", "abc")
