"""Live figures are written in batches: one transaction per flush, never one per event."""

from __future__ import annotations

import asyncio

import pytest

from pipelines import Event, NodeStats, Plumber
from pipelines.store import StoreError


async def numbers():
    for i in range(3):
        yield i


async def keep(x):
    return x


def spec():
    return {
        "nodes": {"src": {"coro": numbers}, "mid": {"coro": keep}, "out": {"coro": keep}},
        "graph": {"src": ["mid"], "mid": ["out"], "out": None},
    }


def stats_event(n, mid=None):
    """A ``stats`` event as the Plumber sends it, with ``n`` items through src and out."""
    stats = {
        "src": NodeStats(emitted=n),
        "mid": NodeStats(received=n, emitted=n) if mid is None else mid,
        "out": NodeStats(received=n, emitted=n),
    }
    links = [
        {
            "source": "src",
            "target": "mid",
            "kind": "data",
            "capacity": 1024,
            "depth": 1,
            "peak_depth": 7,
        },
        {
            "source": "mid",
            "target": "out",
            "kind": "data",
            "capacity": 1024,
            "depth": 0,
            "peak_depth": 2,
        },
    ]
    return Event("stats", data={"stats": stats, "depths": {"mid": 1}, "links": links})


async def settle():
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_thousand_stats_events_make_one_transaction_with_the_latest_figures(
    store, recorders, clock
):
    recorder = recorders(flush_interval=0.5)
    recording = recorder.record(Plumber(spec()))
    await settle()
    before = recorder.writer.transactions
    for n in range(1, 1001):
        recording.on_event(stats_event(n))
    offered = clock.time()
    await settle()
    assert recorder.writer.transactions == before  # nothing written between flushes
    await clock.advance(0.5)
    assert recorder.writer.transactions == before + 1
    run = store.run(recording.id)
    assert (run.items_in, run.items_out) == (1000, 1000)
    assert (run.nodes["mid"].received, run.nodes["mid"].depth) == (1000, 1)
    assert [(e.depth, e.peak_depth) for e in run.edges] == [(1, 7), (0, 2)]
    assert run.updated_at == run.progress_at == offered  # the figures' own time


async def test_a_flush_writes_only_the_rows_that_changed(store, recorders, clock):
    recorder = recorders(flush_interval=0.5)
    recording = recorder.record(Plumber(spec()))
    recording.on_event(stats_event(10))
    await clock.advance(0.5)
    statements = []
    store.connection().set_trace_callback(statements.append)
    # Only 'mid' moves on: one node row, no edge row.
    recording.on_event(stats_event(10, mid=NodeStats(received=11, emitted=10)))
    await clock.advance(0.5)
    store.connection().set_trace_callback(None)
    node_updates = [s for s in statements if s.startswith("UPDATE run_nodes")]
    assert len(node_updates) == 1 and node_updates[0].endswith("AND node = 'mid'")
    assert not [s for s in statements if s.startswith("UPDATE run_edges")]
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1


async def test_a_quiet_run_moves_its_update_time_but_not_its_progress_time(store, recorders, clock):
    recorder = recorders(flush_interval=0.5)
    recording = recorder.record(Plumber(spec()))
    moved = clock.time()
    recording.on_event(stats_event(10))
    await clock.advance(0.5)
    quiet = clock.time()
    recording.on_event(stats_event(10))
    await clock.advance(0.5)
    run = store.run(recording.id)
    assert (run.updated_at, run.progress_at) == (quiet, moved)


async def test_nothing_is_written_when_nothing_is_pending(store, recorders, clock):
    recorder = recorders(flush_interval=0.5)
    await settle()
    before = recorder.writer.transactions
    await clock.advance(5)
    assert recorder.writer.transactions == before


async def test_a_store_that_refuses_a_flush_keeps_the_records_for_the_next(
    store, recorders, clock, caplog, monkeypatch
):
    recorder = recorders(flush_interval=0.5)
    recording = recorder.record(Plumber(spec()))
    await settle()
    import sqlite3

    from pipelines.store import writes

    real = writes.write_snapshot

    def locked(*args):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(writes, "write_snapshot", locked)
    recording.on_event(stats_event(5))
    with caplog.at_level("WARNING", logger="pipelines"):
        await clock.advance(0.5)
    assert "could not write to the run store" in caplog.text
    assert store.run(recording.id).items_in == 0
    monkeypatch.setattr(writes, "write_snapshot", real)
    await clock.advance(0.5)
    assert store.run(recording.id).items_in == 5


async def test_a_run_id_already_taken_is_refused_without_holding_back_the_others(
    store, recorders, clock, caplog
):
    recorder = recorders(flush_interval=0.5)
    first = recorder.record(Plumber(spec()), run_id="0123456789ab")
    await settle()
    with caplog.at_level("ERROR", logger="pipelines"):
        again = recorder.record(Plumber(spec()), run_id="0123456789ab")
        await settle()
    assert "run records refused by the run store" in caplog.text
    with pytest.raises(StoreError, match="run 0123456789ab cannot be recorded"):
        again.written.result(0)
    other = recorder.record(Plumber(spec()))
    await settle()
    assert other.written.result(0) is True
    assert {r.id for r in store.runs()} == {first.id, other.id}
