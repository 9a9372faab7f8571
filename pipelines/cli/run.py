"""``pipelines run``: run a spec file with a live view, print its summary."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from .. import diagram as drawing
from ..errors import PipelineError
from ..schedule.cycles import UntilFailed
from .cycling import execute_cycles
from .execute import execute
from .loading import REDIS_OPTION, SPEC_ARG, load_spec
from .output import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    console,
    error,
    fail,
    jsonable,
    logging_to_console,
    stdout_to_stderr,
)
from .recording import STORE_OPTION, RunRecording

__all__ = ["run"]


@click.command(
    epilog="""\b
Examples:
  pipelines run graph.yaml
  pipelines run graph.yaml --set numbers.n=1000 --set double.factor=3
  pipelines run graph.yaml --json | jq .outputs
  pipelines run graph.yaml --diagram run.svg
  pipelines run graph.yaml --no-store
  pipelines run graph.yaml --worker-name etl-1 --metrics-port 9100
  pipelines run graph.yaml --redis redis://localhost:6379/0   # on the workers

Each run is recorded in the run store ($PIPELINES_HOME/pipelines.db,
~/.pipelines by default; see `pipelines runs`) unless --no-store is given.
The first Ctrl-C (or SIGTERM) stops the sources and lets items in flight
reach the sinks; a second one stops at once. Either way the summary is
printed and the exit code is 130.

A spec with `cycle:` (times, until, forever) runs its graph again and again,
each cycle recorded as its own run; the first Ctrl-C lets the current cycle
drain and starts no other.""",
)
@SPEC_ARG
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NODE.ARG=VALUE",
    help="Override one of a node's args; VALUE is read as YAML (5, 2.5, true, text). Repeatable.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as one JSON object instead of a table.",
)
@click.option(
    "--no-progress",
    is_flag=True,
    help="No live view (it is off anyway when stdout is not a terminal).",
)
@click.option(
    "--diagram",
    "diagram_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="After the run, draw the graph annotated with its figures (svg, png, pdf, dot, mmd).",
)
@REDIS_OPTION
@click.option("-v", "--verbose", is_flag=True, help="Show engine log messages and tracebacks.")
@STORE_OPTION
@click.option("--no-store", is_flag=True, help="Do not record this run in the run store.")
@click.option(
    "--worker-name",
    metavar="NAME",
    help="This process's name in the store's worker registry [default: host:pid].",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Serve Prometheus metrics of this run on http://127.0.0.1:PORT/metrics while it runs.",
)
def run(
    spec: Path,
    sets: tuple[str, ...],
    as_json: bool,
    no_progress: bool,
    diagram_path: Path | None,
    redis_url: str | None,
    verbose: bool,
    store_path: Path | None,
    no_store: bool,
    worker_name: str | None,
    metrics_port: int | None,
) -> None:
    """Run the graph of SPEC to its end and print a per-node summary.

    With --redis (or transport.redis in SPEC) the links are Redis streams and
    the nodes run on the workers (`pipelines worker SPEC --redis URL`): the
    sources run here, and the summary and exit code are those of a local run.
    """
    if no_store and (store_path is not None or worker_name is not None):
        raise click.UsageError("--no-store cannot be combined with --store or --worker-name")
    # Sampled call timing fills the recorded latency figures (no per-item cost).
    data, plumber = load_spec(spec, sets, redis_url, sample_calls=not no_store)
    diagram_format = _check_diagram(diagram_path) if diagram_path is not None else None
    schedule = plumber.plan.spec.schedule
    if schedule is not None:
        click.echo(
            f"note: this spec has a schedule ({schedule.describe()}): `pipelines run` runs it now;"
            " `pipelines serve` runs its schedule",
            err=True,
        )
    live = not (no_progress or as_json) and sys.stdout.isatty()
    recording = RunRecording(
        plumber,
        data,
        spec,
        sets,
        store=not no_store,
        store_path=store_path,
        worker_name=worker_name,
        metrics_port=metrics_port,
    )
    with recording:
        if recording.run_id is not None and not as_json:
            click.echo(f"run {recording.run_id} (recorded in {recording.store_path_shown})")
            sys.stdout.flush()  # seen at once, even through a pipe
        # Under --json, stdout carries the JSON object only: whatever the nodes
        # print (threads and worker processes included) goes to stderr.
        quiet = stdout_to_stderr() if as_json else contextlib.nullcontext()
        cycles: list[dict[str, Any]] | None = None
        with quiet, logging_to_console(verbose) as handler:
            if plumber.plan.spec.cycle.once:
                result, failure = execute(plumber, live, handler)
            else:
                result, failure, cycles = execute_cycles(
                    plumber, recording, live, handler, show=not as_json
                )
        recording.finish(result, failure)

    if as_json:
        data = result.as_dict()
        if failure is not None:
            data["error"] = _error_dict(failure)
        if recording.run_id is not None:
            data["run_id"] = recording.run_id
        if cycles is not None:
            data["cycles"] = cycles
        click.echo(json.dumps(jsonable(data), indent=2, allow_nan=False))
    elif cycles is not None:
        statuses = ", ".join(entry["status"] for entry in cycles)
        click.echo(f"{len(cycles)} cycles ({plumber.plan.spec.cycle.describe()}): {statuses}")
    else:
        from ..progress import render_summary

        console().print(
            render_summary(
                plumber.plan, result.stats, result.status, result.duration, result.outputs
            )
        )

    if diagram_path is not None and diagram_format is not None:
        try:
            written = drawing.render_result(result, diagram_path, diagram_format)
        except drawing.DiagramError as exc:
            error(str(exc))
            if failure is None:
                raise SystemExit(EXIT_FAILED) from None
        else:
            click.echo(f"diagram written to {written}", err=True)

    if failure is not None:
        _report_failure(failure, verbose)
        raise SystemExit(EXIT_FAILED)
    halted = recording.halted_by
    if halted is not None:
        error(f"a watchdog marked the run {halted} in the run store, so it was stopped")
        raise SystemExit(EXIT_FAILED)
    if result.status == "stopped":
        raise SystemExit(EXIT_INTERRUPTED)


def _check_diagram(path: Path) -> str:
    """Check ``--diagram FILE`` before the run: a known format, and Graphviz for images."""
    try:
        fmt = drawing.format_for(path)
    except drawing.DiagramError as exc:
        raise click.BadParameter(str(exc), param_hint="'--diagram'") from None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.BadParameter(
            f"the folder {str(folder)!r} does not exist (it is checked before the run)",
            param_hint="'--diagram'",
        )
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(
            f"cannot write in the folder {str(folder)!r}", param_hint="'--diagram'"
        )
    try:
        drawing.ensure_dot(fmt)
    except drawing.GraphvizNotFound as exc:
        fail(str(exc), EXIT_FAILED)
    return fmt


def _error_dict(error: BaseException) -> dict[str, Any]:
    cause = (
        error.__cause__
        if isinstance(error, PipelineError) and error.__cause__ is not None
        else error
    )
    return {
        "node": getattr(error, "node", None),
        "item": getattr(error, "item", None),
        "type": type(cause).__name__,
        "message": str(cause),
    }


def _report_failure(failure: BaseException, verbose: bool) -> None:
    """One clear message naming the failing node; the traceback only with --verbose."""
    if verbose:
        traceback.print_exception(failure, file=sys.stderr)
    node = getattr(failure, "pipelines_node", None)
    if isinstance(
        failure, PipelineError | UntilFailed | ConnectionError
    ):  # ConnectionError: --redis
        error(str(failure))
    elif node is not None:
        shown = (
            f"SystemExit({failure.code!r})"
            if isinstance(failure, SystemExit)
            else type(failure).__name__
        )
        error(f"node {node!r} raised {shown}; the run was stopped")
    else:
        error(f"the run ended with an unexpected {type(failure).__name__}: {failure}")
    if not verbose:
        click.echo("(run with --verbose for the traceback)", err=True)
