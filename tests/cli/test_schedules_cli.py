"""Schedules, the watchdog and cycles through the real command, in subprocesses (real time, a
few seconds each, with short heartbeat and poll periods)."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from pathlib import Path

from cli_harness import pipelines, start

from pipelines.store import Store
from pipelines.store import schedules as book

SPECS = Path(__file__).resolve().parent.parent / "specs"
FAST = {"PIPELINES_HEARTBEAT": "0.2", "PIPELINES_SCHEDULE_POLL": "0.1"}


def serving(proc) -> str:
    """The URL a starting `pipelines serve` prints."""
    line = proc.stdout.readline()
    match = re.fullmatch(r"serving .+ on (http://127\.0\.0\.1:\d+) \(hosting: .+\)\n", line)
    assert match, line + proc.stderr.read()
    return match.group(1)


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for(check, timeout=20.0, every=0.1):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "never happened"
        time.sleep(every)


def stop(proc) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=30)


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)


def test_serve_with_a_one_second_interval_starts_runs_seen_in_runs_and_the_api(pipelines_home):
    proc = start("serve", SPECS / "every_second.yaml", "--port", "0", env=FAST)
    try:
        url = serving(proc)
        assert proc.stdout.readline() == "schedules: every-second every 1 s\n"

        def two_completed():
            runs = get(url + "/api/runs?pipeline=every-second")["runs"]
            return [r for r in runs if r["status"] == "completed"][1:] and runs

        api_runs = wait_for(two_completed)
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err
    listed = json.loads(pipelines("runs", "--json").stdout)["runs"]
    assert {r["id"] for r in api_runs} <= {r["id"] for r in listed}
    assert len([r for r in listed if r["trigger"] == "schedule"]) >= 2
    table = pipelines("schedules").stdout
    assert "every-second" in table and "every 1 s" in table
    (schedule,) = json.loads(pipelines("schedules", "--json").stdout)["schedules"]
    assert (schedule["name"], schedule["worker_status"]) == ("every-second", "offline")
    shown = pipelines("schedules", "show", "every-second", "--limit", "3")
    assert shown.returncode == 0 and "started" in shown.stdout


def test_a_killed_server_leaves_its_run_crashed_and_a_restart_continues_the_schedule(
    pipelines_home,
):
    spec = SPECS / "scheduled_slow.yaml"
    first = start("serve", spec, "--port", "0", env=FAST)
    try:
        url = serving(first)
        running = wait_for(
            lambda: [r for r in get(url + "/api/runs")["runs"] if r["status"] == "running"]
        )
        (killed,) = running
    finally:
        kill(first)
    killed_at = time.time()
    time.sleep(2.5)  # down: two occurrences or more fall due meanwhile
    second = start("serve", spec, "--port", "0", env=FAST)
    try:
        url = serving(second)
        restarted = time.time()

        def a_new_run():
            runs = get(url + "/api/runs")["runs"]
            return [r for r in runs if r["id"] != killed["id"] and r["status"] == "running"]

        (fresh,) = wait_for(a_new_run)
    finally:
        _, err = stop(second)
    assert second.returncode == 0, err
    with Store(pipelines_home / "pipelines.db") as store:
        assert store.run(killed["id"]).status == "crashed"
        assert store.run(fresh["id"]).status == "stopped"  # drained when the second one stopped
        rows = sorted(book.occurrences(store.connection(), "scheduled-slow", 1000), key=_due)
        runs = store.runs(pipeline="scheduled-slow")
    started = [o for o in rows if o.fate == "started"]
    # Every occurrence is accounted for once; every run was started by exactly one occurrence.
    dues = [o.due_at for o in rows]
    assert len(dues) == len(set(dues))
    assert sorted(o.run_id for o in started) == sorted(r.id for r in runs)
    # Catch-up (latest): of what fell due while no server ran, the newest ran at the restart
    # and the others were skipped, in one row that ends just before it.
    (resumed,) = [o for o in started if o.due_at > killed_at]
    assert resumed.run_id == fresh["id"] and killed_at < resumed.due_at < restarted
    (catchup,) = [o for o in rows if o.reason == "catchup"]
    assert catchup.last_due == resumed.due_at - 1 and catchup.count >= 1
    assert catchup.due_at < killed_at + 1.5  # from the first occurrence after the kill


def _due(occurrence):
    return occurrence.due_at


def test_two_servers_on_one_store_never_start_an_occurrence_twice(pipelines_home):
    procs = [start("serve", SPECS / "every_second.yaml", "--port", "0", env=FAST) for _ in range(2)]
    try:
        for proc in procs:
            serving(proc)
        time.sleep(3.5)
    finally:
        for proc in procs:
            stop(proc)
    assert [proc.returncode for proc in procs] == [0, 0]
    with Store(pipelines_home / "pipelines.db") as store:
        rows = book.occurrences(store.connection(), "every-second", 1000)
        runs = store.runs(pipeline="every-second")
    started = [o for o in rows if o.fate == "started"]
    assert len(started) >= 2
    dues = [o.due_at for o in rows]
    assert len(dues) == len(set(dues))  # one fate per occurrence
    assert sorted(o.run_id for o in started) == sorted(r.id for r in runs)  # one run each
    due = {o.run_id: o.due_at for o in started}
    assert all(r.started_at >= due[r.id] for r in runs)  # each at or after its own time
    workers = {o.worker_id for o in rows}
    assert len(workers) <= 2  # claims by the two servers only


def test_watchdog_once_times_out_a_run_of_another_process_which_then_stops(pipelines_home):
    proc = start("run", SPECS / "timeout.yaml", env=FAST)
    try:
        first = proc.stdout.readline()
        run_id = first.split()[1]
        assert proc.stderr.readline() == "tick 0\n"
        time.sleep(1.2)  # longer than its run_timeout (1 s)
        done = pipelines("watchdog", "--once")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith(f"timed_out  {run_id}  timeout: timed out: ran ")
        assert lines[-1] == (
            "checked 1 running runs and 0 queued occurrences: 1 timed out, 0 stalled, 0 late,"
            " 0 crashed"
        )
        _, err = proc.communicate(timeout=10)  # it stops itself at its next heartbeat
    finally:
        if proc.poll() is None:
            kill(proc)
    assert proc.returncode == 1
    assert "error: a watchdog marked the run timed_out in the run store, so it was stopped" in err
    with Store(pipelines_home / "pipelines.db") as store:
        run = store.run(run_id)
    assert (run.status, run.error.type) == ("timed_out", "TimedOut")
    again = pipelines("watchdog", "--once", "--json")
    assert json.loads(again.stdout)["verdicts"] == []


def test_watchdog_defaults_apply_to_runs_without_limits(pipelines_home):
    proc = start("run", SPECS / "endless.yaml", env=FAST)
    try:
        run_id = proc.stdout.readline().split()[1]
        assert proc.stderr.readline() == "tick 0\n"
        assert pipelines("watchdog", "--once", "--run-timeout", "1h").stdout.startswith(
            "checked 1 running runs"
        )
        time.sleep(1.1)
        done = pipelines("watchdog", "--once", "--run-timeout", "1s", "--json")
        (verdict,) = json.loads(done.stdout)["verdicts"]
        assert (verdict["run_id"], verdict["status"]) == (run_id, "timed_out")
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            kill(proc)
    assert proc.returncode == 1


def test_watchdog_usage_errors_are_one_line(pipelines_home):
    done = pipelines("watchdog", "--once")
    assert (done.returncode, done.stderr) == (
        2,
        f"error: no run store at {pipelines_home / 'pipelines.db'}: nothing to watch\n",
    )
    done = pipelines("watchdog", "--once", "--run-timeout", "soon")
    assert done.returncode == 2
    assert "Invalid value for '--run-timeout': must be a number of seconds from 1" in done.stderr
    assert pipelines("schedules").stdout.startswith("no schedules in ")
    shown = pipelines("schedules", "show", "nope")
    assert (shown.returncode, shown.stderr) == (
        2,
        f"error: no schedule 'nope' in {pipelines_home / 'pipelines.db'}\n",
    )


def test_schedules_pause_and_resume_keep_the_pause_in_the_store(pipelines_home):
    path = pipelines_home / "pipelines.db"
    with Store(path) as store, store.transaction() as conn:
        book.register(conn, "etl", {"interval": 60}, "every 60 s", "h", True, 1_700_000_000.0)
    paused = pipelines("schedules", "pause", "etl")
    assert (paused.returncode, paused.stdout) == (
        0,
        "paused etl: its occurrences are skipped until `pipelines schedules resume`\n",
    )
    listed = json.loads(pipelines("schedules", "--json").stdout)["schedules"]
    assert [(s["name"], s["paused"], s["next_at"]) for s in listed] == [("etl", True, None)]
    assert "every 60 s (paused)" in pipelines("schedules").stdout
    resumed = pipelines("schedules", "resume", "etl")
    assert (resumed.returncode, resumed.stdout) == (0, "resumed etl\n")
    with Store(path) as store:
        assert book.get(store.connection(), "etl").paused_at is None
    for verb in ("pause", "resume"):
        unknown = pipelines("schedules", verb, "nope")
        assert (unknown.returncode, unknown.stderr) == (2, f"error: no schedule 'nope' in {path}\n")


def test_run_with_cycles_records_each_cycle_linked_to_the_first(pipelines_home):
    done = pipelines("run", SPECS / "cycles.yaml")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "3 cycles (3 times): completed, completed, completed"
    assert [line.split(":")[0] for line in lines if line.startswith("cycle ")] == [
        "cycle 1",
        "cycle 2",
        "cycle 3",
    ]
    runs = json.loads(pipelines("runs", "--json").stdout)["runs"]
    first = runs[-1]["id"]
    assert [(r["cycle_of"], r["cycle"], r["status"]) for r in runs] == [
        (first, 3, "completed"),
        (first, 2, "completed"),
        (first, 1, "completed"),
    ]
    shown = pipelines("runs", "show", runs[0]["id"]).stdout
    assert f"3 (the first cycle is run {first})" in shown
    as_json = json.loads(pipelines("run", SPECS / "cycles.yaml", "--json", "--no-store").stdout)
    assert [(c["cycle"], c["status"]) for c in as_json["cycles"]] == [
        (1, "completed"),
        (2, "completed"),
        (3, "completed"),
    ]
    assert as_json["outputs"]["out"] == [2, 4, 6]


def test_the_first_ctrl_c_lets_the_current_cycle_drain_and_ends_the_cycles(pipelines_home):
    proc = start("run", SPECS / "forever.yaml", "--no-progress")
    try:
        assert proc.stdout.readline().startswith("run ")
        while not proc.stdout.readline().startswith("cycle 2:"):  # the second one has ended
            assert proc.poll() is None
        time.sleep(0.1)  # the third one runs
    finally:
        out, err = stop(proc)
    assert proc.returncode == 130, err
    assert "stopping: the current cycle drains, no other starts" in err
    last = out.splitlines()[-1]
    assert re.fullmatch(r"\d+ cycles \(forever\): (completed, )+stopped", last), last
    runs = json.loads(pipelines("runs", "--json").stdout)["runs"]
    assert runs[0]["status"] == "stopped" and len(runs) == int(last.split()[0])
    assert {r["status"] for r in runs[1:]} == {"completed"}


def test_run_of_a_scheduled_spec_runs_it_now_and_says_so(pipelines_home):
    done = pipelines("run", SPECS / "every_second.yaml")
    assert done.returncode == 0
    assert done.stderr.splitlines()[0] == (
        "note: this spec has a schedule (every 1 s): `pipelines run` runs it now;"
        " `pipelines serve` runs its schedule"
    )
    assert [r["trigger"] for r in json.loads(pipelines("runs", "--json").stdout)["runs"]] == ["cli"]
