"""The ``pipelines`` command: run, validate and draw spec files.

Exit codes: 0 success; 1 the run failed (or an image could not be drawn);
2 bad usage or an invalid spec; 130 interrupted (the first Ctrl-C or SIGTERM
drains the graph, a second one stops it at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml
from rich.console import Console
from rich.markup import escape

from . import diagram as drawing
from ._version import __version__
from .errors import PipelineError, SpecError
from .loader import load_file
from .plumber import Plumber
from .stats import RunResult

__all__ = ["cli", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Width of rich output when it does not go to a terminal (files, pipes, tests).
_PLAIN_WIDTH = 160

log = logging.getLogger("pipelines")


# -- output helpers ------------------------------------------------------------------


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else _PLAIN_WIDTH
    return Console(file=stream, width=width, highlight=False)


def _error(message: str) -> None:
    """One message on stderr, starting with ``error:``."""
    click.echo(f"{click.style('error:', fg='red', bold=True)} {message}", err=True)


def _fail(message: str, code: int) -> NoReturn:
    _error(message)
    raise SystemExit(code)


def _spec_failure(exc: SpecError) -> NoReturn:
    """Print every problem of an invalid spec and exit 2."""
    _fail(str(exc), EXIT_USAGE)


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data; anything JSON cannot hold becomes its repr."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


class _ConsoleHandler(logging.Handler):
    """Log records of the ``pipelines`` logger, printed through a rich console.

    While the live view is on, its console is used so that messages appear
    above the table instead of tearing it.
    """

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            style = (
                "red"
                if record.levelno >= logging.ERROR
                else "yellow"
                if record.levelno >= logging.WARNING
                else "dim"
            )
            self.console.print(
                f"[{style}]{record.levelname.lower()}:[/] {escape(record.getMessage())}"
            )
        except Exception:  # logging must never break the run
            self.handleError(record)


@contextlib.contextmanager
def _logging(verbose: bool) -> Iterator[_ConsoleHandler]:
    handler = _ConsoleHandler(_console(stderr=True))
    logger = logging.getLogger("pipelines")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# -- loading -------------------------------------------------------------------------


def _apply_sets(data: dict[str, Any], sets: tuple[str, ...]) -> None:
    """Apply ``NODE.ARG=VALUE`` overrides to a loaded spec; a bad one is a usage error."""
    nodes = data.get("nodes")
    for text in sets:
        key, eq, raw = text.partition("=")
        node, dot, arg = key.rpartition(".")
        if not eq or not dot or not node or not arg:
            raise click.BadParameter(f"{text!r}: expected NODE.ARG=VALUE", param_hint="'--set'")
        names = {str(name): name for name in nodes} if isinstance(nodes, dict) else {}
        if node not in names:
            known = ", ".join(names) or "none"
            raise click.BadParameter(
                f"{text!r}: no node named {node!r} (nodes: {known})", param_hint="'--set'"
            )
        spec = nodes[names[node]]
        if not isinstance(spec, dict):
            raise click.BadParameter(
                f"{text!r}: node {node!r} is not a mapping in the spec", param_hint="'--set'"
            )
        args = spec.get("args")
        if args is None:
            args = spec["args"] = {}
        if not isinstance(args, dict):
            raise click.BadParameter(
                f"{text!r}: the args of node {node!r} are not a mapping", param_hint="'--set'"
            )
        try:
            args[arg] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or exc
            raise click.BadParameter(
                f"{text!r}: the value is not valid YAML ({problem})", param_hint="'--set'"
            ) from None


def _load(path: Path, sets: tuple[str, ...] = ()) -> Plumber:
    """Build a Plumber from a spec file, with ``--set`` overrides applied."""
    try:
        if not sets:
            return Plumber.from_file(path)
        data = load_file(path)
        _apply_sets(data, sets)
        return Plumber(data, base_dir=path.resolve().parent, source=str(path))
    except SpecError as exc:
        _spec_failure(exc)


# -- the command group ---------------------------------------------------------------


_SPEC = click.argument("spec", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC")


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  pipelines validate graph.yaml
  pipelines run graph.yaml --set numbers.n=100
  pipelines run graph.yaml --json > result.json
  pipelines render graph.yaml -o graph.svg

Exit codes: 0 ok, 1 the run failed, 2 bad usage or invalid spec, 130 interrupted.""",
)
@click.version_option(
    __version__, "--version", prog_name="pipelines", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Run, check and draw pipelines graph specs (YAML, JSON or TOML files)."""


@cli.command(
    epilog="""\b
Examples:
  pipelines run graph.yaml
  pipelines run graph.yaml --set numbers.n=1000 --set double.factor=3
  pipelines run graph.yaml --json | jq .outputs
  pipelines run graph.yaml --diagram run.svg

The first Ctrl-C (or SIGTERM) stops the sources and lets items in flight
reach the sinks; a second one stops at once. Either way the summary is
printed and the exit code is 130.""",
)
@_SPEC
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
@click.option("-v", "--verbose", is_flag=True, help="Show engine log messages and tracebacks.")
def run(
    spec: Path,
    sets: tuple[str, ...],
    as_json: bool,
    no_progress: bool,
    diagram_path: Path | None,
    verbose: bool,
) -> None:
    """Run the graph of SPEC to its end and print a per-node summary."""
    plumber = _load(spec, sets)
    diagram_format = _check_diagram(diagram_path) if diagram_path is not None else None
    live = not (no_progress or as_json) and sys.stdout.isatty()
    with _logging(verbose) as handler:
        result, error = _execute(plumber, live, handler)

    if as_json:
        data = result.as_dict()
        if error is not None:
            data["error"] = _error_dict(error)
        click.echo(json.dumps(_jsonable(data), indent=2, allow_nan=False))
    else:
        from .progress import render_summary

        _console().print(
            render_summary(
                plumber.plan, result.stats, result.status, result.duration, result.outputs
            )
        )

    if diagram_path is not None and diagram_format is not None:
        try:
            written = drawing.render_result(result, diagram_path, diagram_format)
        except drawing.DiagramError as exc:
            _error(str(exc))
            if error is None:
                raise SystemExit(EXIT_FAILED) from None
        else:
            click.echo(f"diagram written to {written}", err=True)

    if error is not None:
        _report_failure(error, verbose)
        raise SystemExit(EXIT_FAILED)
    if result.status == "stopped":
        raise SystemExit(EXIT_INTERRUPTED)


def _check_diagram(path: Path) -> str:
    """Check ``--diagram FILE`` before the run: a known format, and Graphviz for images."""
    try:
        fmt = drawing.format_for(path)
    except drawing.DiagramError as exc:
        raise click.BadParameter(str(exc), param_hint="'--diagram'") from None
    try:
        drawing.ensure_dot(fmt)
    except drawing.GraphvizNotFound as exc:
        _fail(str(exc), EXIT_FAILED)
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


def _report_failure(error: BaseException, verbose: bool) -> None:
    """One clear message naming the failing node; the traceback only with --verbose."""
    if verbose:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, PipelineError):
        _error(str(error))
    else:
        _error(f"the run ended with an unexpected {type(error).__name__}: {error}")
    if not verbose:
        click.echo("(run with --verbose for the traceback)", err=True)


def _execute(
    plumber: Plumber, live: bool, handler: _ConsoleHandler
) -> tuple[RunResult, BaseException | None]:
    """Run the graph with signal handling; return the result and the error that ended it, if any."""
    started = time.monotonic()
    if live:
        from .progress import LiveView

        view = LiveView(plumber, _console())
        handler.console = view.console
        with view:
            outcome = _run_loop(plumber, view.console)
        handler.console = _console(stderr=True)
    else:
        outcome = _run_loop(plumber, None)
    if isinstance(outcome, RunResult):
        return outcome, None
    if isinstance(outcome, PipelineError) and outcome.result is not None:
        return outcome.result, outcome
    # An interrupted (or unexpectedly failed) run has no RunResult: build one from the nodes' stats.
    status = "stopped" if isinstance(outcome, KeyboardInterrupt) else "failed"
    partial = RunResult(
        status=status,
        duration=time.monotonic() - started,
        stats={proc.name: proc.stats for proc in plumber.nodes},
        outputs={proc.name: proc.collected for proc in plumber.nodes if proc.collected is not None},
        graph=plumber.plan,
    )
    return partial, None if isinstance(outcome, KeyboardInterrupt) else outcome


def _run_loop(plumber: Plumber, console: Console | None) -> RunResult | BaseException:
    try:
        return asyncio.run(_run_with_signals(plumber, console))
    except KeyboardInterrupt as exc:  # a Ctrl-C before the signal handlers were in place
        return exc
    except Exception as exc:
        return exc


async def _run_with_signals(plumber: Plumber, console: Console | None) -> RunResult:
    """``plumber.run()``; the first SIGINT/SIGTERM drains the graph, the second stops it."""
    loop = asyncio.get_running_loop()
    received = 0

    def on_signal() -> None:
        nonlocal received
        received += 1
        if received == 1:
            message = (
                "stopping: letting items in flight reach the sinks (Ctrl-C again to stop at once)"
            )
            plumber.request_stop(drain=True)
        else:
            message = "stopping now"
            plumber.request_stop(drain=False)
        if console is not None:
            console.print(f"[yellow]{message}[/]")
        else:
            click.echo(message, err=True)

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers here
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        return await plumber.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@cli.command(
    epilog="""\b
Examples:
  pipelines validate graph.yaml
  pipelines validate graphs/*.yaml""",
)
@click.argument(
    "specs",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="SPEC...",
)
def validate(specs: tuple[Path, ...]) -> None:
    """Check spec files without running them; print every problem with its key path."""
    invalid = 0
    for path in specs:
        try:
            plumber = Plumber.from_file(path)
        except SpecError as exc:
            invalid += 1
            _error(str(exc))
            continue
        click.echo(f"{path}: ok: {plumber.plan.summary()}")
    if invalid:
        raise SystemExit(EXIT_USAGE)


@cli.command(
    epilog="""\b
Examples:
  pipelines render graph.yaml -o graph.svg
  pipelines render graph.yaml -o graph.png
  pipelines render graph.yaml -o graph.mmd          # Mermaid, no Graphviz needed
  pipelines render graph.yaml -o - --format mermaid
  pipelines render graph.yaml -o - | dot -Tpdf > graph.pdf

svg, png and pdf need Graphviz's dot program; dot and mermaid are text.""",
)
@_SPEC
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Where to write; '-' writes to stdout (DOT unless --format says otherwise).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice([*drawing.FORMATS, "gv", "mmd"], case_sensitive=False),
    help="Output format; by default it follows FILE's suffix (.svg .png .pdf .dot/.gv .mmd/.mermaid).",
)
def render(spec: Path, output: str, fmt: str | None) -> None:
    """Draw the graph of SPEC (Graphviz image, DOT or Mermaid)."""
    plumber = _load(spec)
    to_stdout = output == "-"
    try:
        fmt = drawing.format_for(
            None if to_stdout else output, fmt or ("dot" if to_stdout else None)
        )
    except drawing.DiagramError as exc:
        raise click.BadParameter(str(exc), param_hint="'--output'") from None
    if to_stdout and fmt in drawing.IMAGE_FORMATS and sys.stdout.isatty():
        raise click.BadParameter(
            f"will not write a {fmt} image to a terminal; redirect stdout or use -o FILE",
            param_hint="'--output'",
        )
    try:
        if to_stdout:
            data = drawing.draw(plumber.plan, fmt)
            if isinstance(data, bytes):
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            else:
                click.echo(data, nl=False)
            return
        written = drawing.render(plumber.plan, output, fmt)
    except drawing.DiagramError as exc:
        _fail(str(exc), EXIT_FAILED)
    click.echo(f"wrote {written} ({fmt})")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``pipelines`` console script and ``python -m pipelines``."""
    cli.main(args=argv)
