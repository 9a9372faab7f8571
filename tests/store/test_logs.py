"""Run logs in the store: saved with their run, in batches, bounded, pruned with the run."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from pipelines import Plumber, get_run_logger
from pipelines.store import MAX_MESSAGE, MAX_RECORDS, Recorder, Store
from pipelines.store.schema import _V1, MIGRATIONS, SCHEMA_VERSION

RUN_LOGGER = logging.getLogger("pipelines.run")


async def numbers():
    for i in range(1, 4):
        yield i


async def talk(x):
    log = get_run_logger()
    log.debug("debug %s", x)  # below INFO: never saved
    log.info("got %s", x)
    if x == 2:
        log.warning("two is odd")
    return x


def thread_talk(x):
    get_run_logger().error("in a thread %s", x)
    return x


def spec():
    return {
        "nodes": {
            "numbers": {"coro": numbers},
            "talk": {"coro": talk},
            "thread": {"coro": thread_talk},
        },
        "graph": {"numbers": ["talk"], "talk": ["thread"], "thread": None},
    }


async def settle():
    for _ in range(20):
        await asyncio.sleep(0)


def logged(recording_id, message, node="mid", level=logging.INFO, **extra):
    """Log as a node of run ``recording_id`` would (what get_run_logger's records carry)."""
    RUN_LOGGER.log(level, message, extra={"run_id": recording_id, "node": node, **extra})


async def test_a_recorded_run_keeps_its_records_at_info_and_above_in_order(store, recorders):
    recorder = recorders()
    plumber = Plumber(spec())
    recording = recorder.record(plumber)
    other = Plumber(spec())  # not recorded: its records are not saved
    await plumber.run()
    await other.run()
    await asyncio.wrap_future(recording.ended)
    saved = store.logs(recording.id)
    by_node = [(e.node, e.level, e.message) for e in saved.entries]
    # Each node logs in its own order; the two nodes interleave as they ran.
    assert [m for m in by_node if m[0] == "talk"] == [
        ("talk", "INFO", "got 1"),
        ("talk", "INFO", "got 2"),
        ("talk", "WARNING", "two is odd"),
        ("talk", "INFO", "got 3"),
    ]
    assert [m for m in by_node if m[0] == "thread"] == [
        ("thread", "ERROR", f"in a thread {i}") for i in (1, 2, 3)
    ]
    assert [e.seq for e in saved.entries] == list(range(1, 8))
    assert (saved.dropped, saved.truncated) == (0, 0)
    assert saved.as_json()["logs"][0]["level"] == "INFO"
    assert store.logs("000000000000") is None


async def test_records_are_written_in_one_transaction_per_flush(store, recorders, clock):
    recorder = recorders(flush_interval=0.5)
    recording = recorder.record(Plumber(spec()))
    await settle()  # the run's first record is written at once
    before = recorder.writer.transactions
    for i in range(500):
        logged(recording.id, f"record {i}")
    await settle()
    assert recorder.writer.transactions == before  # nothing written between flushes
    assert store.logs(recording.id).entries == []
    await clock.advance(0.5)
    assert recorder.writer.transactions == before + 1
    saved = store.logs(recording.id)
    assert [e.message for e in saved.entries] == [f"record {i}" for i in range(500)]
    # Reading on: only what comes after a record's number.
    assert [e.seq for e in store.logs(recording.id, after=498).entries] == [499, 500]
    assert len(store.logs(recording.id, limit=10).entries) == 10


async def test_a_run_keeps_at_most_the_limit_and_counts_what_it_dropped(store, recorders, clock):
    recorder = recorders()
    recording = recorder.record(Plumber(spec()))
    for i in range(MAX_RECORDS + 25):
        logged(recording.id, f"record {i}")
    await clock.advance(0.5)
    saved = store.logs(recording.id)
    assert len(saved.entries) == MAX_RECORDS
    assert saved.entries[-1].message == f"record {MAX_RECORDS - 1}"
    assert (saved.dropped, saved.truncated) == (25, 0)
    assert recorder.writer.pending == 0  # nothing waits in memory either


async def test_a_long_message_is_cut_and_counted(store, recorders, clock):
    recorder = recorders()
    recording = recorder.record(Plumber(spec()))
    logged(recording.id, "x" * 10_000)
    await clock.advance(0.5)
    saved = store.logs(recording.id)
    (entry,) = saved.entries
    assert len(entry.message) == MAX_MESSAGE
    assert entry.message.endswith("x [... cut]")
    assert (saved.dropped, saved.truncated) == (0, 1)


async def test_an_exception_s_traceback_is_part_of_the_message(store, recorders, clock):
    recorder = recorders()
    recording = recorder.record(Plumber(spec()))
    try:
        raise ValueError("bad value")
    except ValueError:
        RUN_LOGGER.exception("it failed", extra={"run_id": recording.id, "node": "mid"})
    await clock.advance(0.5)
    (entry,) = store.logs(recording.id).entries
    assert entry.level == "ERROR"
    assert entry.message.startswith("it failed\nTraceback (most recent call last):")
    assert entry.message.endswith("ValueError: bad value")


async def test_records_after_the_run_ended_or_of_other_runs_are_not_saved(store, recorders):
    recorder = recorders()
    plumber = Plumber(spec())
    recording = recorder.record(plumber)
    await plumber.run()
    await asyncio.wrap_future(recording.ended)
    kept = len(store.logs(recording.id).entries)
    logged(recording.id, "too late")
    logged("123456789abc", "not recorded here")
    RUN_LOGGER.info("no run at all")
    recorder.writer.flush()
    assert len(store.logs(recording.id).entries) == kept == 7


async def test_pruning_a_run_deletes_its_records(store, recorders):
    recorder = recorders()
    plumber = Plumber(spec())
    recording = recorder.record(plumber)
    await plumber.run()
    await asyncio.wrap_future(recording.ended)
    assert store.prune(keep=0) == [recording.id]
    conn = store.connection()
    assert conn.execute("SELECT COUNT(*) FROM run_logs").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM run_log_counts").fetchone()[0] == 0


def test_the_logger_lets_info_through_while_a_recorder_is_open(tmp_path):
    assert RUN_LOGGER.level == logging.NOTSET
    with Store(tmp_path / "runs.db") as store:
        first = Recorder(store, background=False).start()
        second = Recorder(store, background=False).start()
        assert RUN_LOGGER.level == logging.INFO
        first.close()
        assert RUN_LOGGER.level == logging.INFO  # the second one still captures
        second.close()
    assert RUN_LOGGER.level == logging.NOTSET
    assert RUN_LOGGER.handlers == []


def test_a_store_made_before_run_logs_gets_their_tables(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(_V1)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with Store(path) as store:
        conn = store.connection()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"run_logs", "run_log_counts"} <= tables
    assert len(MIGRATIONS) == SCHEMA_VERSION
