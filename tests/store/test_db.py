"""The store file: WAL mode, its schema, clear errors, and several processes at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipelines.store import Store, StoreError, db, default_path
from pipelines.store.schema import SCHEMA_VERSION

SPECS = Path(__file__).resolve().parent.parent / "specs"


def test_a_new_store_is_created_in_wal_mode_with_the_current_schema(tmp_path):
    path = tmp_path / "deep" / "folder" / "runs.db"
    with Store(path) as store:
        conn = store.connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert tables == {
            "workers",
            "runs",
            "run_nodes",
            "run_edges",
            "run_logs",
            "run_log_counts",
            "schedules",
            "occurrences",
        }
    assert path.exists()


def test_the_default_store_is_in_pipelines_home(pipelines_home, monkeypatch):
    assert default_path() == pipelines_home / "pipelines.db"
    monkeypatch.delenv("PIPELINES_HOME")
    assert default_path() == Path.home() / ".pipelines" / "pipelines.db"


def test_reopening_a_store_keeps_its_runs_and_does_not_migrate_again(tmp_path):
    path = tmp_path / "runs.db"
    Store(path).close()
    with Store(path) as store:
        assert store.runs() == []
        assert store.connection().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_made_by_a_newer_pipelines_is_refused(tmp_path):
    path = tmp_path / "runs.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this pipelines knows"):
        Store(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "cannot open the run store"),
        (lambda p: p.write_text("not a database, just text " * 100), "cannot use the run store"),
    ],
    ids=["a folder", "not sqlite"],
)
def test_a_path_that_is_not_a_store_is_one_clear_error(tmp_path, make, message):
    path = tmp_path / "runs.db"
    make(path)
    with pytest.raises(StoreError, match=message) as caught:
        Store(path)
    assert str(path) in str(caught.value)


def test_a_closed_store_says_so(tmp_path):
    store = Store(tmp_path / "runs.db")
    store.close()
    import threading

    errors = []

    def other_thread():
        try:
            store.connection()
        except StoreError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=other_thread, name="pipelines-test")
    thread.start()
    thread.join()
    assert errors == [f"the run store {tmp_path / 'runs.db'} is closed"]


def test_a_store_another_process_is_creating_is_waited_for_not_refused(tmp_path, monkeypatch):
    # Another process has the new file's write lock (in rollback mode, before
    # its switch to WAL): SQLite refuses our switch at once, without its busy
    # handler, so opening must wait and try again.
    path = tmp_path / "runs.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if other.in_transaction:
            other.execute("COMMIT")  # the other process is done

    monkeypatch.setattr(db, "_sleep", pause)
    with Store(path) as store:
        conn = store.connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert pauses == [0.005]
    other.close()


def test_a_store_locked_for_longer_than_the_busy_timeout_is_one_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # and never lets go
    now = [100.0]
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(db, "_monotonic", lambda: now[0])
    monkeypatch.setattr(db, "_sleep", pause)
    with pytest.raises(StoreError) as caught:
        Store(path, busy_timeout=0.05)
    assert str(caught.value) == f"cannot use the run store {path}: database is locked"
    assert pauses == [0.005, 0.01, 0.02, 0.04]  # backing off, until 0.05 s had passed
    other.close()


def _communicate_all(procs: list[subprocess.Popen[str]], timeout: float) -> list[tuple[str, str]]:
    """Both processes' output; on a timeout, kill them all and fail with what each said."""
    results: list[tuple[str, str] | None] = [None] * len(procs)

    def talk(i: int) -> None:
        results[i] = procs[i].communicate()

    threads = [
        threading.Thread(target=talk, args=(i,), name=f"test-talk-{i}") for i in range(len(procs))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if any(thread.is_alive() for thread in threads):
        for proc in procs:
            proc.kill()
        for thread in threads:
            thread.join()
        pytest.fail(f"a recording process hung; what they said: {results!r}")
    return [r for r in results if r is not None]


def test_two_processes_recording_into_one_store_at_once_both_succeed(tmp_path):
    path = tmp_path / "shared.db"
    # Frequent heartbeats (and flushes every 0.5 s), so that their transactions collide.
    env = {**os.environ, "PIPELINES_HEARTBEAT": "0.5"}
    procs = []
    for me, other in (("a", "b"), ("b", "a")):
        command = [sys.executable, "-m", "pipelines", "run", SPECS / "meet.yaml", "--store", path]
        command += ["--worker-name", f"w-{me}", "--json", "--set", f"numbers.folder={tmp_path}"]
        command += ["--set", f"numbers.me={me}", "--set", f"numbers.other={other}"]
        procs.append(
            subprocess.Popen(
                list(map(str, command)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    outputs = _communicate_all(procs, timeout=50)
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    # No write was refused (on a loaded machine one process may find the other
    # silent for 1.5 s and mark it crashed; its next heartbeat takes it back).
    assert not [err for _, err in outputs if "could not write" in err], outputs
    with Store(path) as store:
        runs = store.runs()
        assert sorted(run.worker for run in runs) == ["w-a", "w-b"]
        assert [(run.status, run.items_in, run.items_out) for run in runs] == [
            ("completed", 50, 50),
            ("completed", 50, 50),
        ]
        assert {w.status for w in store.workers()} == {"offline"}


def test_a_new_store_folder_is_private(tmp_path):
    Store(tmp_path / "home" / "runs.db").close()
    assert (tmp_path / "home").stat().st_mode & 0o777 == 0o700
