"""``pipelines run`` records; ``pipelines runs``, ``runs show``, ``runs diagram``, ``runs prune``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_harness import pipelines
from conftest import needs_dot

from pipelines.store import Store

SPECS = Path(__file__).resolve().parent.parent / "specs"
NUMBERS = SPECS / "numbers.yaml"
FAILING = SPECS / "failing.yaml"
ID_LINE = re.compile(r"run ([0-9a-f]{12}) \(recorded in (.+)\)")


def recorded(*args) -> str:
    """Run ``pipelines run ARGS`` and return the id of the run it recorded."""
    done = pipelines("run", *args)
    match = ID_LINE.fullmatch(done.stdout.splitlines()[0])
    assert match, done.stdout + done.stderr
    return match.group(1)


def stored(path: Path):
    store = Store(path)
    try:
        return store.runs(), store.workers()
    finally:
        store.close()


# -- pipelines run records -----------------------------------------------------------


def test_run_records_into_pipelines_home_by_default(pipelines_home):
    done = pipelines("run", NUMBERS)
    assert done.returncode == 0, done.stderr
    match = ID_LINE.fullmatch(done.stdout.splitlines()[0])
    assert match and match.group(2) == str(pipelines_home / "pipelines.db")
    (run,), (worker,) = stored(pipelines_home / "pipelines.db")
    assert (run.id, run.pipeline, run.status, run.trigger) == (
        match.group(1),
        "numbers",
        "completed",
        "cli",
    )
    assert (run.items_in, run.items_out, run.spec_path) == (5, 5, str(NUMBERS))
    assert run.worker == worker.name and worker.status == "offline"
    assert worker.kind == "run"


def test_run_records_the_set_parameters_and_the_spec_as_loaded(pipelines_home):
    run_id = recorded(NUMBERS, "--set", "numbers.n=3", "--set", "double.factor=10")
    store = Store(pipelines_home / "pipelines.db")
    run = store.run(run_id)
    store.close()
    assert run.parameters == {"numbers.n": 3, "double.factor": 10}
    assert run.spec["nodes"]["numbers"]["args"] == {"n": 3}
    assert run.nodes["out"].emitted == 3


def test_run_with_no_store_records_nothing(pipelines_home):
    done = pipelines("run", NUMBERS, "--no-store")
    assert done.returncode == 0
    assert not done.stdout.startswith("run ")
    assert not (pipelines_home / "pipelines.db").exists()


def test_run_with_store_and_worker_name(tmp_path):
    path = tmp_path / "elsewhere.db"
    recorded(NUMBERS, "--store", path, "--worker-name", "night-batch")
    (run,), (worker,) = stored(path)
    assert (run.worker, worker.name) == ("night-batch", "night-batch")


def test_the_worker_version_is_the_spec_version(tmp_path):
    path = tmp_path / "runs.db"
    recorded(SPECS / "slow.yaml", "--set", "numbers.n=2", "--store", path)
    (run,), (worker,) = stored(path)
    assert (run.version, worker.version) == ("3.1", "3.1")


def test_run_json_carries_the_run_id(pipelines_home):
    done = pipelines("run", NUMBERS, "--json")
    result = json.loads(done.stdout)
    (run,), _ = stored(pipelines_home / "pipelines.db")
    assert result["run_id"] == run.id
    assert list(result) == ["status", "duration", "stats", "outputs", "run_id"]


def test_a_failed_run_is_recorded_with_its_error(pipelines_home):
    done = pipelines("run", FAILING)
    assert done.returncode == 1
    (run,), _ = stored(pipelines_home / "pipelines.db")
    assert run.status == "failed"
    assert run.error.as_json() == {
        "node": "check",
        "item": "3",
        "type": "ValueError",
        "message": "3 is bad",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-store", "--store", "x.db"], "--no-store cannot be combined with --store"),
        (["--no-store", "--worker-name", "w"], "--no-store cannot be combined"),
    ],
)
def test_contradicting_store_options_are_a_usage_error(args, message):
    done = pipelines("run", NUMBERS, *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_an_unusable_store_is_one_line_before_anything_runs(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("these are my notes, not a database\n" * 100)
    done = pipelines("run", NUMBERS, "--store", text)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: cannot use the run store {text}: file is not a database "
        "(--no-store runs without recording)\n"
    )


def test_a_bad_heartbeat_setting_is_one_line(tmp_path):

    done = pipelines("run", NUMBERS, env={"PIPELINES_HEARTBEAT": "often"})
    assert done.returncode == 2
    assert "heartbeat period must be a number of seconds, got 'often'" in done.stderr
    assert "Traceback" not in done.stderr


# -- pipelines runs ------------------------------------------------------------------


def test_runs_lists_recorded_runs_newest_first():
    first = recorded(NUMBERS)
    second = recorded(FAILING)
    done = pipelines("runs")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "id",
        "pipeline",
        "status",
        "started",
        "duration",
        "in",
        "out",
        "worker",
    ]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (second, "failing", "failed"),
        (first, "numbers", "completed"),
    ]
    assert [r[-3:-1] for r in rows] == [["5", "2"], ["5", "5"]]


def test_runs_json_has_the_api_names_and_filters():
    first = recorded(NUMBERS)
    recorded(FAILING)
    done = pipelines("runs", "--json", "--status", "completed")
    (run,) = json.loads(done.stdout)["runs"]
    assert run["id"] == first
    assert {"id", "pipeline", "status", "started_at", "ended_at", "duration", "worker"} <= set(run)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", run["started_at"])
    by_pipeline = json.loads(pipelines("runs", "--json", "--pipeline", "failing").stdout)
    assert [r["pipeline"] for r in by_pipeline["runs"]] == ["failing"]
    limited = json.loads(pipelines("runs", "--json", "--limit", "1").stdout)
    assert len(limited["runs"]) == 1


def test_runs_of_an_empty_store_says_so_and_creates_nothing(pipelines_home):
    done = pipelines("runs")
    assert (done.returncode, done.stdout) == (
        0,
        f"no runs recorded in {pipelines_home / 'pipelines.db'}\n",
    )
    assert json.loads(pipelines("runs", "--json").stdout) == {"runs": []}
    assert not (pipelines_home / "pipelines.db").exists()


def test_runs_workers_lists_the_workers():
    recorded(NUMBERS, "--worker-name", "w-1")
    data = json.loads(pipelines("runs", "--workers", "--json").stdout)
    assert [(w["name"], w["status"]) for w in data["workers"]] == [("w-1", "offline")]
    text = pipelines("runs", "--workers").stdout
    assert "w-1" in text and "offline" in text


def test_runs_show_prints_the_run_and_its_nodes():
    run_id = recorded(FAILING)
    done = pipelines("runs", "show", run_id)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"run       {run_id}" in out
    assert "status    failed" in out
    assert "error     node 'check' failed on item 3: ValueError: 3 is bad" in out
    kinds = {"source", "transform", "sink"}
    rows = {
        cells[0]: cells
        for cells in map(str.split, out.splitlines())
        if cells[1:2] and cells[1] in kinds
    }
    assert list(rows) == ["numbers", "check", "out"]
    assert rows["check"][:8] == ["check", "transform", "failed", "3", "2", "1", "0", "0"]


def test_runs_show_json_is_the_api_form_and_a_prefix_is_enough():
    run_id = recorded(NUMBERS)
    data = json.loads(pipelines("runs", "show", run_id[:5], "--json").stdout)
    assert data["id"] == run_id
    assert list(data["nodes"]) == ["numbers", "double", "out"]
    assert data["nodes"]["out"]["received"] == 5
    assert data["edges"][0] == {
        "source": "numbers",
        "target": "double",
        "kind": "data",
        "capacity": 1024,
        "peak_depth": data["edges"][0]["peak_depth"],
        "depth": 0,
        "dropped": 0,
    }


def test_runs_show_of_an_unknown_id_is_a_usage_error(pipelines_home):
    recorded(NUMBERS)
    done = pipelines("runs", "show", "ffffffffffff")
    assert done.returncode == 2
    assert done.stderr == f"error: no run 'ffffffffffff' in {pipelines_home / 'pipelines.db'}\n"


def test_runs_diagram_draws_the_recorded_run_with_its_figures(tmp_path):
    run_id = recorded(NUMBERS)
    target = tmp_path / "run.dot"
    done = pipelines("runs", "diagram", run_id, "-o", target)
    assert (done.returncode, done.stdout) == (0, f"wrote {target} (dot)\n")
    dot = target.read_text()
    assert 'label="numbers\\nnumbers()\\nout 5"' in dot
    assert 'label="double\\ndouble()\\nin 5, out 5"' in dot
    assert "completed in" in dot


@needs_dot
def test_runs_diagram_draws_svg_like_run_diagram(tmp_path):
    run_id = recorded(NUMBERS, "--diagram", tmp_path / "live.svg")
    done = pipelines("runs", "diagram", run_id, "-o", tmp_path / "stored.svg")
    assert done.returncode == 0, done.stderr
    stored_svg = (tmp_path / "stored.svg").read_text()
    assert "in 5, out 5" in stored_svg and "<svg" in stored_svg


def test_runs_prune_keeps_the_newest(pipelines_home):
    ids = [recorded(NUMBERS) for _ in range(3)]
    assert pipelines("runs", "prune", "--keep", "1", "--dry-run").stdout == "would delete 2 runs\n"
    assert pipelines("runs", "prune", "--keep", "1").stdout == "deleted 2 runs\n"
    runs, _ = stored(pipelines_home / "pipelines.db")
    assert [r.id for r in runs] == [ids[-1]]
    assert pipelines("runs", "prune", "--older-than", "1d").stdout == "deleted 0 runs\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "say what to prune: --keep N and/or --older-than DURATION"),
        (["--older-than", "soon"], "'soon' is not a duration"),
        (["--keep", "-1"], "-1 is not in the range x>=0"),
    ],
)
def test_runs_prune_needs_a_valid_rule(args, message):
    recorded(NUMBERS)
    done = pipelines("runs", "prune", *args)
    assert done.returncode == 2
    assert message in done.stderr


@pytest.mark.parametrize(
    "command", [["runs"], ["runs", "show"], ["runs", "diagram"], ["runs", "prune"], ["serve"]]
)
def test_every_new_command_has_help_with_examples(command):
    done = pipelines(*command, "--help")
    assert done.returncode == 0
    assert "Examples:" in done.stdout


def test_runs_subcommands_take_the_store_given_to_runs(tmp_path):
    path = tmp_path / "other.db"
    run_id = recorded(NUMBERS, "--store", path)
    done = pipelines("runs", "--store", path, "show", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == run_id
    assert pipelines("runs", "--store", path, "prune", "--keep", "0").stdout == "deleted 1 run\n"


def test_a_bad_keep_setting_is_one_line():

    done = pipelines("run", NUMBERS, env={"PIPELINES_KEEP_RUNS": "all"})
    assert done.returncode == 2
    assert done.stderr == (
        "error: PIPELINES_KEEP_RUNS must be a whole number of runs, got 'all' "
        "(--no-store runs without recording)\n"
    )
