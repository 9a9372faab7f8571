"""Pruning: the documented policy, exactly."""

from __future__ import annotations

import pytest

from pipelines import Plumber
from pipelines.store import parse_duration


async def numbers():
    yield 1


async def keep(x):
    return x


def spec(name):
    return {
        "name": name,
        "nodes": {"numbers": {"coro": numbers}, "out": {"coro": keep}},
        "graph": {"numbers": ["out"], "out": None},
    }


async def history(recorder, clock, plan):
    """Record runs one virtual hour apart: ``plan`` is a list of pipeline names, oldest first."""
    ids = []
    for name in plan:
        plumber = Plumber(spec(name))
        recording = recorder.record(plumber)
        await plumber.run()
        recorder.writer.flush()
        ids.append(recording.id)
        await clock.advance(3600)
    return ids


async def test_keep_n_keeps_the_newest_n_runs_of_each_pipeline(store, recorders, clock):
    recorder = recorders(run=False)
    ids = await history(recorder, clock, ["a", "b", "a", "a", "b", "a"])
    gone = store.prune(keep=2)
    assert gone == [ids[0], ids[2]]  # a keeps its last two (3, 5); b has only two
    assert [r.id for r in store.runs()] == [ids[5], ids[4], ids[3], ids[1]]


async def test_older_than_deletes_runs_that_ended_before_the_cutoff(store, recorders, clock):
    recorder = recorders(run=False)
    ids = await history(recorder, clock, ["a", "a", "a", "a"])
    # Now is 4 h after the first run; runs ended at 0, 1, 2, 3 h.
    assert store.prune(older_than=parse_duration("2h30m")) == [ids[0], ids[1]]
    assert [r.id for r in store.runs()] == [ids[3], ids[2]]


async def test_both_rules_delete_only_what_both_say(store, recorders, clock):
    recorder = recorders(run=False)
    ids = await history(recorder, clock, ["a"] * 5)
    assert store.prune(keep=4, older_than=3600 * 2.5, dry_run=True) == [ids[0]]
    assert len(store.runs()) == 5  # a dry run deletes nothing
    assert store.prune(keep=4, older_than=3600 * 2.5) == [ids[0]]


async def test_a_running_run_is_never_pruned(store, recorders, clock):
    recorder = recorders(run=False)
    live = recorder.record(Plumber(spec("a")))
    recorder.writer.flush()
    await clock.advance(3600)
    await history(recorder, clock, ["a", "a"])
    gone = store.prune(keep=0)
    assert live.id not in gone and len(gone) == 2
    assert [r.id for r in store.runs()] == [live.id]


async def test_pruning_deletes_the_figures_and_workers_left_without_runs(store, recorders, clock):
    old = recorders(run=False)
    await history(old, clock, ["a"])
    old.close()
    current = recorders(run=False)
    await history(current, clock, ["a"])
    store.prune(keep=1, pipeline="a")
    conn = store.connection()
    assert conn.execute("SELECT COUNT(*) FROM run_nodes").fetchone()[0] == 2
    assert conn.execute("SELECT COUNT(*) FROM run_edges").fetchone()[0] == 1
    assert [w.id for w in store.workers()] == [current.worker.id]


async def test_prune_of_one_pipeline_leaves_the_others(store, recorders, clock):
    recorder = recorders(run=False)
    ids = await history(recorder, clock, ["a", "b", "a"])
    assert store.prune(keep=0, pipeline="a") == [ids[0], ids[2]]
    assert [r.id for r in store.runs()] == [ids[1]]


async def test_a_recorder_keeps_the_newest_runs_of_each_pipeline_after_each_run(
    store, recorders, clock
):
    recorder = recorders(run=False, keep=2)
    ids = await history(recorder, clock, ["a", "a", "b", "a"])
    assert sorted(r.id for r in store.runs()) == sorted([ids[1], ids[2], ids[3]])


def test_prune_needs_a_rule(store):
    with pytest.raises(ValueError, match="say what to prune"):
        store.prune()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("12h", 43200),
        ("7d", 604800),
        ("2w", 1209600),
        ("1d12h", 129600),
        ("1.5h", 5400),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "7 days", "d", "-1d", "1d 2h", "1y"])
def test_a_bad_duration_says_what_is_accepted(text):
    with pytest.raises(
        ValueError, match="is not a duration: use a number with a unit s, m, h, d or w"
    ):
        parse_duration(text)
