"""The ``pipelines`` command, run for real in a subprocess (``python -m pipelines``)."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_harness import pipelines, start
from conftest import needs_dot
from rich.console import Console

from pipelines import Plumber, __version__
from pipelines.progress import LiveView

SPECS = Path(__file__).resolve().parent.parent / "specs"
NUMBERS = SPECS / "numbers.yaml"
INSTALL_SENTENCE = (
    "Graphviz's 'dot' program is needed to draw {fmt} images but was not found on PATH: "
    "install Graphviz (apt-get install graphviz, or brew install graphviz on macOS), "
    "or write DOT (.dot) or Mermaid (.mmd) text, which need no Graphviz"
)


def wait_for_lines(stream, *wanted: str) -> list[str]:
    """Read ``stream`` until a line starting with each of ``wanted`` was seen (in any order)."""
    missing = set(wanted)
    seen = []
    while missing:
        line = stream.readline()
        assert line, f"stream ended before {sorted(missing)}; got {seen}"
        seen.append(line)
        missing = {w for w in missing if not line.startswith(w)}
    return seen


def summary_rows(stdout: str) -> dict[str, list[str]]:
    """The summary table as node -> [kind, function, in, out, failed, retried, dropped, peak, time]."""
    rows = {}
    lines = stdout.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.split()[:3] == ["node", "kind", "function"]
    )
    for line in lines[header + 2 :]:
        cells = line.split()
        if len(cells) < 9:
            break
        rows[cells[0]] = cells[1:]
    return rows


def counts(rows: dict[str, list[str]]) -> dict[str, tuple[int, ...]]:
    """in, out, failed, retried, dropped per node."""
    return {name: tuple(int(v) for v in cells[2:7]) for name, cells in rows.items()}


def path_without_dot(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has no Graphviz ``dot``."""
    assert Path(sys.executable).is_absolute()
    empty = tmp_path / "bin"
    empty.mkdir()
    return {**os.environ, "PATH": str(empty)}


# -- the command -----------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["run"], ["validate"], ["render"]])
def test_every_command_has_help_with_examples(command):
    done = pipelines(*command, "--help")
    assert done.returncode == 0
    assert "Examples:" in done.stdout
    assert done.stdout.startswith("Usage: ")


def test_version_prints_the_package_version():
    done = pipelines("--version")
    assert (done.returncode, done.stdout) == (0, f"pipelines {__version__}\n")


def test_console_script_is_the_same_command():
    script = shutil.which("pipelines") or str(Path(sys.executable).with_name("pipelines"))
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, f"pipelines {__version__}\n")


def test_unknown_subcommand_is_a_usage_error():
    done = pipelines("walk", NUMBERS)
    assert done.returncode == 2
    assert "No such command 'walk'" in done.stderr


# -- run ---------------------------------------------------------------------------


def test_run_prints_a_summary_table_and_the_duration():
    done = pipelines("run", NUMBERS)
    assert done.returncode == 0, done.stderr
    rows = summary_rows(done.stdout)
    assert {name: cells[:2] for name, cells in rows.items()} == {
        "numbers": ["source", "numbers"],
        "double": ["transform", "double"],
        "out": ["sink", "keep"],
    }
    assert counts(rows) == {
        "numbers": (0, 5, 0, 0, 0),
        "double": (5, 5, 0, 0, 0),
        "out": (5, 5, 0, 0, 0),
    }
    assert done.stdout.splitlines()[-2] == "out (5 collected): [2, 4, 6, 8, 10]"
    assert re.fullmatch(r"completed in \d+\.\d+ m?s", done.stdout.splitlines()[-1])
    assert "\x1b[" not in done.stdout  # no colours and no live view when stdout is not a terminal
    assert done.stderr == ""


def test_run_shows_the_first_ten_collected_values_and_how_many_more():
    done = pipelines("run", NUMBERS, "--set", "numbers.n=12")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2] == (
        "out (12 collected): [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, ... (2 more)]"
    )


def test_run_json_prints_one_object_with_exact_stats_and_outputs():
    # Not recorded: recording samples call timings (busy, latency) and adds the run's id.
    done = pipelines("run", NUMBERS, "--json", "--no-store")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result) == ["status", "duration", "stats", "outputs"]
    assert result["status"] == "completed"
    assert isinstance(result["duration"], float)
    stats = {
        name: {k: v for k, v in s.items() if k != "duration"} for name, s in result["stats"].items()
    }
    assert stats == {
        "numbers": {
            "received": 0,
            "emitted": 5,
            "failed": 0,
            "retried": 0,
            "dropped": 0,
            "peak_depth": 0,
            "peak_in_flight": 0,
            "busy": None,
            "latency_p50": None,
            "latency_p95": None,
            "latency_max": None,
            "link_dropped": {},
        },
        "double": {
            "received": 5,
            "emitted": 5,
            "failed": 0,
            "retried": 0,
            "dropped": 0,
            "peak_depth": stats["double"]["peak_depth"],
            "peak_in_flight": 1,
            "busy": None,
            "latency_p50": None,
            "latency_p95": None,
            "latency_max": None,
            "link_dropped": {},
        },
        "out": {
            "received": 5,
            "emitted": 5,
            "failed": 0,
            "retried": 0,
            "dropped": 0,
            "peak_depth": stats["out"]["peak_depth"],
            "peak_in_flight": 1,
            "busy": None,
            "latency_p50": None,
            "latency_p95": None,
            "latency_max": None,
            "link_dropped": {},
        },
    }
    assert 1 <= stats["double"]["peak_depth"] <= 5
    assert result["outputs"] == {"out": [2, 4, 6, 8, 10]}


def test_run_json_gives_values_json_cannot_hold_as_their_repr():
    done = pipelines("run", SPECS / "odd.yaml", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == {
        "odd": [
            {"n": 1, "set": "{1}", "complex": "(1+1j)", "tuple": [1, 1]},
            {"n": 2, "set": "{2}", "complex": "(2+1j)", "tuple": [2, 2]},
        ]
    }


def test_set_overrides_node_args_parsed_as_yaml():
    done = pipelines(
        "run",
        NUMBERS,
        "--json",
        "--set",
        "numbers.n=3",
        "--set",
        "double.factor=10",
        "--set",
        "numbers.start=-1",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == {"out": [-10, 0, 10]}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nope.n=3", "'nope.n=3': no node named 'nope' (nodes: numbers, double, out)"),
        ("numbers=3", "'numbers=3': expected NODE.ARG=VALUE"),
        ("numbers.n", "'numbers.n': expected NODE.ARG=VALUE"),
        ("numbers.n=[1", "'numbers.n=[1': the value is not valid YAML"),
    ],
)
def test_a_malformed_set_is_a_usage_error(override, message):
    done = pipelines("run", NUMBERS, "--set", override)
    assert done.returncode == 2
    assert f"Error: Invalid value for '--set': {message}" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_set_of_an_arg_the_function_does_not_take_is_a_spec_error():
    done = pipelines("run", NUMBERS, "--set", "numbers.m=3")
    assert done.returncode == 2
    assert "nodes.numbers.args: args do not fit numbers(" in done.stderr
    assert "unexpected keyword argument 'm'" in done.stderr


def test_a_failed_run_exits_1_naming_the_node_and_the_error():
    done = pipelines("run", SPECS / "failing.yaml")
    assert done.returncode == 1
    assert done.stderr == (
        "error: node 'check' failed on item 3: ValueError: 3 is bad\n"
        "(run with --verbose for the traceback)\n"
    )
    rows = summary_rows(done.stdout)
    assert counts(rows)["check"][:3] == (3, 2, 1)
    assert done.stdout.splitlines()[-1].startswith("failed in ")


def test_verbose_shows_the_traceback_of_a_failure():
    done = pipelines("run", SPECS / "failing.yaml", "--verbose")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert 'raise ValueError(f"{x} is bad")' in done.stderr
    assert done.stderr.rstrip().endswith(
        "error: node 'check' failed on item 3: ValueError: 3 is bad"
    )


def test_a_failed_run_in_json_reports_the_error():
    done = pipelines("run", SPECS / "failing.yaml", "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "failed"
    assert result["error"] == {
        "node": "check",
        "item": "3",
        "type": "ValueError",
        "message": "3 is bad",
    }
    assert result["outputs"] == {"out": [1, 2]}
    assert result["stats"]["check"]["failed"] == 1


def test_run_of_an_invalid_spec_prints_every_problem_and_exits_2():
    done = pipelines("run", SPECS / "invalid.yaml")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: invalid pipeline spec in {SPECS / 'invalid.yaml'} (3 problems)\n"
        "  - graph.double: unknown node 'nowhere' (not a key of nodes)\n"
        "  - nodes.numbers.coro: cannot import 'cli_funcs:numbrs': 'cli_funcs' has no attribute "
        "'numbrs' (did you mean 'numbers'?)\n"
        "  - nodes.double.concurrency: must be an integer from 1 to 10,000, got 0\n"
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (SPECS / "missing.yaml", "  - file not found"),
        (SPECS / "broken.yaml", "line 3, column 1: invalid YAML"),
        (
            SPECS / "cli_funcs.py",
            "  - unknown spec file type '.py': use .yaml, .yml, .json or .toml",
        ),
    ],
)
@pytest.mark.parametrize("command", ["run", "validate", "render"])
def test_user_mistakes_exit_2_without_a_traceback(command, spec, problem):
    extra = ["-o", "-"] if command == "render" else []
    done = pipelines(command, spec, *extra)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: invalid pipeline spec in {spec} (1 problem)\n")
    assert problem in done.stderr
    assert "Traceback" not in done.stderr


def test_no_progress_and_no_terminal_mean_no_live_view():
    done = pipelines("run", NUMBERS, "--no-progress")
    assert done.returncode == 0
    assert "rate/s" not in done.stdout
    assert "completed in" in done.stdout


def _run_in_terminal(*args: str | Path) -> tuple[int, str]:
    """Run the command with stdout on a pseudo-terminal; return (exit code, everything it drew)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", *map(str, args)],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    proc.stderr.close()
    return proc.wait(timeout=30), b"".join(chunks).decode(errors="replace")


def test_live_view_is_drawn_on_a_terminal_and_off_with_no_progress():
    code, drawn = _run_in_terminal("run", NUMBERS)
    assert code == 0
    assert "rate/s" in drawn  # the live table's header
    assert "Ctrl-C to stop" in drawn
    assert "completed" in drawn
    code, drawn = _run_in_terminal("run", NUMBERS, "--no-progress")
    assert code == 0
    assert "rate/s" not in drawn
    assert "completed" in drawn


async def test_live_view_shows_each_node_figures():
    plumber = Plumber.from_file(SPECS / "failing.yaml")
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    view = LiveView(plumber, console)
    with view, pytest.raises(Exception, match="node 'check' failed"):
        await plumber.run()
    out = Console(file=io.StringIO(), width=120)
    out.print(view.renderable())
    lines = {
        line.split()[0]: line.split()
        for line in out.file.getvalue().splitlines()[3:]
        if line.strip()
    }
    assert lines["numbers"][:3] == ["numbers", "done", "5"]
    assert lines["check"][:7] == ["check", "failed", "3", "2", "1", "0", "ValueError:"]
    assert plumber.stats_interval == view.interval


# -- signals -------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_drains_prints_the_summary_and_exits_130(sig):
    proc = start("run", SPECS / "endless.yaml")
    wait_for_lines(proc.stderr, "tick 0")  # the source has produced
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert (
        err == "stopping: letting items in flight reach the sinks (Ctrl-C again to stop at once)\n"
    )
    rows = counts(summary_rows(out))
    produced = rows["ticks"][1]
    assert produced >= 1
    # Drained: everything the source produced went all the way through.
    assert rows == {
        "ticks": (0, produced, 0, 0, 0),
        "double": (produced, produced, 0, 0, 0),
        "out": (produced, produced, 0, 0, 0),
    }
    assert out.splitlines()[-1].startswith("stopped in ")


def test_first_signal_in_json_mode_reports_stopped():
    proc = start("run", SPECS / "endless.yaml", "--json")
    wait_for_lines(proc.stderr, "tick 0")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 130
    result = json.loads(out)
    assert result["status"] == "stopped"
    assert result["stats"]["out"]["received"] == result["stats"]["ticks"]["emitted"]


def test_second_ctrl_c_stops_at_once():
    proc = start("run", SPECS / "stuck.yaml")
    wait_for_lines(proc.stderr, "tick 0", "stuck on 0")
    proc.send_signal(signal.SIGINT)
    wait_for_lines(proc.stderr, "stopping: letting items in flight")
    proc.send_signal(signal.SIGINT)  # the drain cannot end: 'stuck' never finishes its item
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert err == "stopping now\n"
    rows = counts(summary_rows(out))
    assert rows["stuck"] == (1, 0, 0, 0, 0)
    assert out.splitlines()[-1].startswith("stopped in ")


# -- validate ------------------------------------------------------------------------


def test_validate_prints_a_summary_line_per_valid_spec():
    done = pipelines("validate", NUMBERS, SPECS / "demo.yaml")
    assert done.returncode == 0
    assert done.stdout == (
        f"{NUMBERS}: ok: 3 nodes, 2 edges, 1 source (numbers), 1 sink (out)\n"
        f"{SPECS / 'demo.yaml'}: ok: 9 nodes, 9 edges, 2 sources (left, right), 2 sinks (report, rejects)\n"
    )


def test_validate_prints_every_problem_with_its_key_path_and_exits_2():
    done = pipelines("validate", SPECS / "invalid.yaml", NUMBERS)
    assert done.returncode == 2
    assert done.stdout == f"{NUMBERS}: ok: 3 nodes, 2 edges, 1 source (numbers), 1 sink (out)\n"
    problems = [line for line in done.stderr.splitlines() if line.startswith("  - ")]
    assert [p.split(":")[0] for p in problems] == [
        "  - graph.double",
        "  - nodes.numbers.coro",
        "  - nodes.double.concurrency",
    ]


# -- render ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        pytest.param("graph.svg", "svg", marks=needs_dot),
        pytest.param("graph.png", "png", marks=needs_dot),
        pytest.param("graph.pdf", "pdf", marks=needs_dot),
        ("graph.dot", "dot"),
        ("graph.gv", "dot"),
        ("graph.mmd", "mermaid"),
        ("graph.mermaid", "mermaid"),
    ],
)
def test_render_format_follows_the_suffix(tmp_path, name, fmt):
    target = tmp_path / name
    done = pipelines("render", NUMBERS, "-o", target)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {target} ({fmt})\n"
    data = target.read_bytes()
    checks = {
        "svg": lambda: ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg",
        "png": lambda: data.startswith(b"\x89PNG\r\n\x1a\n"),
        "pdf": lambda: data.startswith(b"%PDF-"),
        "dot": lambda: data.startswith(b"digraph pipeline {"),
        "mermaid": lambda: data.startswith(b"flowchart LR\n"),
    }
    assert checks[fmt]()


def test_render_format_option_wins_over_the_suffix(tmp_path):
    target = tmp_path / "graph.txt"
    done = pipelines("render", NUMBERS, "-o", target, "--format", "mermaid")
    assert done.returncode == 0
    assert target.read_text().startswith("flowchart LR\n")


def test_render_to_stdout_writes_dot_or_the_given_text_format():
    dot = pipelines("render", NUMBERS, "-o", "-")
    assert dot.returncode == 0
    assert dot.stdout.startswith("digraph pipeline {")
    assert "numbers -> double" in dot.stdout
    mermaid = pipelines("render", NUMBERS, "-o", "-", "--format", "mmd")
    assert mermaid.returncode == 0
    assert 'numbers -->|"cap 1024"| double' in mermaid.stdout


def test_render_to_an_unknown_suffix_is_a_usage_error(tmp_path):
    done = pipelines("render", NUMBERS, "-o", tmp_path / "graph.txt")
    assert done.returncode == 2
    assert "cannot tell the diagram format from" in done.stderr
    assert not (tmp_path / "graph.txt").exists()


def test_render_image_without_graphviz_says_how_to_install_it(tmp_path):
    env = path_without_dot(tmp_path)
    done = pipelines("render", NUMBERS, "-o", tmp_path / "graph.png", env=env)
    assert done.returncode == 1
    assert done.stderr == f"error: {INSTALL_SENTENCE.format(fmt='png')}\n"
    text = pipelines("render", NUMBERS, "-o", tmp_path / "graph.mmd", env=env)
    assert text.returncode == 0
    assert (tmp_path / "graph.mmd").read_text().startswith("flowchart LR\n")


def test_run_diagram_without_graphviz_fails_before_running(tmp_path):
    done = pipelines(
        "run", NUMBERS, "--diagram", tmp_path / "run.svg", env=path_without_dot(tmp_path)
    )
    assert done.returncode == 1
    assert done.stdout == ""  # nothing ran
    assert done.stderr == f"error: {INSTALL_SENTENCE.format(fmt='svg')}\n"


def test_run_diagram_draws_the_graph_annotated_with_the_run(tmp_path):
    target = tmp_path / "run.dot"
    done = pipelines("run", NUMBERS, "--diagram", target)
    assert done.returncode == 0
    assert done.stderr == f"diagram written to {target}\n"
    dot = target.read_text()
    assert 'label="numbers\\nnumbers()\\nout 5"' in dot
    assert 'label="double\\ndouble()\\nin 5, out 5"' in dot


@needs_dot
def test_run_diagram_of_a_failed_run_marks_the_failing_node(tmp_path):
    target = tmp_path / "run.svg"
    done = pipelines("run", SPECS / "failing.yaml", "--diagram", target)
    assert done.returncode == 1
    root = ET.fromstring(target.read_bytes())
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "failed 1" in texts
    assert "failed in" in "".join(texts)
