"""The command's defects found by testing from outside (issue 9), each pinned by a test."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import pipelines
from rich.console import Console

from pipelines import Plumber
from pipelines.diagram import to_dot
from pipelines.progress import LiveView

SPECS = Path(__file__).resolve().parent.parent / "specs"


def test_diagram_into_a_missing_folder_fails_before_the_run(tmp_path):
    target = tmp_path / "nowhere" / "run.svg"
    done = pipelines("run", SPECS / "chatty.yaml", "--diagram", target)
    assert done.returncode == 2
    assert "the folder" in done.stderr and "does not exist (it is checked before the run)" in (
        done.stderr
    )
    assert "chatty says" not in done.stdout + done.stderr  # nothing ran


def test_json_keeps_stdout_for_the_json_alone():
    done = pipelines("run", SPECS / "chatty.yaml", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # nothing else on stdout
    assert data["outputs"]["thread"] == [1, 2, 3]
    said = sorted(line for line in done.stderr.splitlines() if "says" in line)
    assert said == [f"chatty says {i}" for i in (1, 2, 3)] + [f"thread says {i}" for i in (1, 2, 3)]


def test_without_json_node_prints_stay_on_stdout():
    done = pipelines("run", SPECS / "chatty.yaml", "--no-progress")
    assert "chatty says 1" in done.stdout


def test_sys_exit_in_a_node_prints_one_line_and_no_traceback():
    done = pipelines("run", SPECS / "exits.yaml", "--no-progress")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: node 'quit' raised SystemExit(3); the run was stopped\n" in done.stderr


def test_validate_counts_in_singular_and_plural():
    done = pipelines("validate", SPECS / "numbers.yaml")
    assert done.returncode == 0
    assert done.stdout == (
        f"{SPECS / 'numbers.yaml'}: ok: 3 nodes, 2 edges, 1 source (numbers), 1 sink (out)\n"
    )


async def test_a_short_run_shows_milliseconds_not_zero_seconds():
    plumber = Plumber.from_file(SPECS / "numbers.yaml")
    result = await plumber.run()
    dot = to_dot(result.graph, result)
    assert "completed in 0.00 s" not in dot
    assert " ms" in dot


def test_the_live_header_changes_after_the_first_ctrl_c():
    plumber = Plumber.from_file(SPECS / "numbers.yaml")
    view = LiveView(plumber, Console(file=open("/dev/null", "w"), width=120))  # noqa: SIM115
    try:
        assert view.hint == "Ctrl-C to stop"
        view.stopping(drain=True)
        assert view.hint == "draining, Ctrl-C again to stop now"
        assert "Ctrl-C to stop[" not in str(view.renderable().title)
        view.stopping(drain=False)
        assert view.hint == "stopping now"
    finally:
        view.console.file.close()
