"""``pipelines runs logs ID``: the run-log records a recorded run saved, as lines or JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SPECS = Path(__file__).resolve().parent.parent / "specs"
ID_LINE = re.compile(r"run ([0-9a-f]{12}) \(recorded in (.+)\)")
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"


def pipelines(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=30,
    )


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
