"""``pipelines runs logs ID``: the run-log records a recorded run saved, as lines or JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_harness import pipelines

from pipelines.cli.runs_logs import log_lines
from pipelines.store import LogEntry, RunLogs

SPECS = Path(__file__).resolve().parent.parent / "specs"
ID_LINE = re.compile(r"run ([0-9a-f]{12}) \(recorded in (.+)\)")
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"


def recorded(spec: str) -> str:
    done = pipelines("run", SPECS / spec, "--no-progress")
    assert done.returncode == 0, done.stderr
    match = ID_LINE.fullmatch(done.stdout.splitlines()[0])
    assert match, done.stdout
    return match.group(1)


def test_the_records_of_a_run_one_line_each():
    run_id = recorded("logs.yaml")
    done = pipelines("runs", "logs", run_id[:6])  # a unique prefix is enough
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(rf"{TIME} INFO     \[talk\] got 1", lines[0])
    assert re.fullmatch(rf"{TIME} INFO     \[talk\] got 2", lines[1])


def test_json_is_the_api_s_form():
    run_id = recorded("logs.yaml")
    done = pipelines("runs", "logs", run_id, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [(r["seq"], r["level"], r["node"], r["message"]) for r in data["logs"]] == [
        (1, "INFO", "talk", "got 1"),
        (2, "INFO", "talk", "got 2"),
    ]
    assert (data["run_id"], data["dropped"], data["truncated"], data["limit"]) == (
        run_id,
        0,
        0,
        1000,
    )


def test_a_run_without_records_says_so():
    run_id = recorded("numbers.yaml")
    done = pipelines("runs", "logs", run_id)
    assert (done.returncode, done.stdout) == (0, f"run {run_id} has no log records\n")


def test_an_unknown_run_is_one_error_line(pipelines_home):
    recorded("logs.yaml")
    done = pipelines("runs", "logs", "abcdef")
    assert done.returncode == 2
    assert done.stderr == f"error: no run 'abcdef' in {pipelines_home / 'pipelines.db'}\n"


def test_what_the_limits_left_out_is_said_after_the_records():
    saved = RunLogs("abc", [LogEntry(1, 0.0, "WARNING", None, "from a run hook")], 25, 2)
    lines = [line.plain for line in log_lines(saved)]
    assert [line[24:] for line in lines[:1]] == ["WARNING  from a run hook"]
    assert lines[1:] == [
        "25 more records were not kept (the store keeps the first 1,000 of a run)",
        "2 messages were cut",
    ]
