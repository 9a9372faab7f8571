"""``pipelines serve`` and ``pipelines run --metrics-port``, run for real in subprocesses."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from pathlib import Path

from cli_harness import pipelines, start

SPECS = Path(__file__).resolve().parent.parent / "specs"


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_serve_refuses_a_public_address_without_a_token_in_one_line():
    done = pipelines("serve", "--host", "0.0.0.0")
    assert done.returncode == 2
    assert done.stderr == (
        "error: refusing to serve on 0.0.0.0 without a token: pass --token TOKEN or set "
        "PIPELINES_TOKEN (or serve on 127.0.0.1)\n"
    )


def test_serve_refuses_a_short_token():
    done = pipelines("serve", "--host", "0.0.0.0", env={"PIPELINES_TOKEN": "abc"})
    assert done.returncode == 2
    assert done.stderr == "error: the token must be at least 16 characters long\n"


def test_serve_reports_every_problem_of_every_spec():
    done = pipelines("serve", SPECS / "invalid.yaml", SPECS / "missing.yaml")
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid pipeline spec (4 problems)\n")
    assert f"  - {SPECS / 'invalid.yaml'}: graph.double: unknown node 'nowhere'" in done.stderr
    assert f"  - {SPECS / 'missing.yaml'}: file not found" in done.stderr


def test_serve_starts_answers_and_stops_on_sigint(pipelines_home):
    proc = start("serve", SPECS / "numbers.yaml", "--port", "0")
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(
            r"serving (.+) on (http://127\.0\.0\.1:\d+) \(hosting: numbers; Ctrl-C to stop\)\n",
            line,
        )
        assert match, line + proc.stderr.read()
        assert match.group(1) == str(pipelines_home / "pipelines.db")
        url = match.group(2)
        assert get(url + "/healthz") == (200, '{"status":"ok"}')
        request = urllib.request.Request(url + "/api/pipelines/numbers/runs", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            started = json.loads(response.read())
        assert response.status == 201 and started["pipeline"] == "numbers"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err.endswith("stopping: letting hosted runs drain\n")
    done = json.loads(pipelines("runs", "--json", "--workers").stdout)
    assert [(r["id"], r["trigger"]) for r in done["runs"]] == [(started["id"], "api")]
    assert [(w["kind"], w["status"]) for w in done["workers"]] == [("serve", "offline")]


def test_run_serves_its_own_metrics_while_it_runs():
    proc = start("run", SPECS / "endless.yaml", "--metrics-port", "0", "--no-store")
    try:
        line = proc.stderr.readline()
        match = re.fullmatch(r"metrics on (http://127\.0\.0\.1:\d+/metrics)\n", line)
        assert match, line
        sample = 'pipelines_items_out_total{node="out",pipeline="endless"}'
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:  # the first stats event comes within 0.5 s
            status, text = get(match.group(1))
            assert status == 200
            if sample in text:
                break
            time.sleep(0.1)
        assert sample in text
        for name in (
            "pipelines_items_in_total",
            "pipelines_items_failed_total",
            "pipelines_items_retried_total",
            "pipelines_queue_depth",
            "pipelines_run_duration_seconds",
            "pipelines_workers_online 1.0",
        ):
            assert name in text
        assert "run_id" not in text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 130


def test_a_taken_metrics_port_is_one_line_and_records_nothing(pipelines_home):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = pipelines("run", SPECS / "numbers.yaml", "--metrics-port", port)
    assert done.returncode == 2
    assert (
        done.stderr == f"error: cannot serve metrics on 127.0.0.1:{port}: Address already in use\n"
    )
    assert json.loads(pipelines("runs", "--json").stdout) == {"runs": []}
