"""The ``pipelines`` command: run, validate and draw spec files; see and serve recorded runs;
serve them as workers.

Exit codes: 0 success; 1 the run failed (or an image could not be drawn);
2 bad usage or an invalid spec; 130 interrupted (the first Ctrl-C or SIGTERM
drains the graph, a second one stops it at once).
"""

from __future__ import annotations

import click

from .._version import __version__
from .render import render
from .run import run
from .runs import runs
from .schedules import schedules
from .serve import serve
from .validate import validate
from .watchdog import watchdog
from .worker import worker
from .workers import workers

__all__ = ["cli", "main"]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  pipelines validate graph.yaml
  pipelines run graph.yaml --set numbers.n=100
  pipelines run graph.yaml --json > result.json
  pipelines render graph.yaml -o graph.svg
  pipelines runs
  pipelines serve graph.yaml
  pipelines schedules
  pipelines watchdog --once
  pipelines worker graph.yaml --redis redis://HOST:6379/0
  pipelines run graph.yaml --redis redis://HOST:6379/0
  pipelines workers --redis redis://HOST:6379/0

Exit codes: 0 ok, 1 the run failed, 2 bad usage or invalid spec, 130 interrupted.""",
)
@click.version_option(
    __version__, "--version", prog_name="pipelines", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Run, check and draw pipelines graph specs (YAML, JSON or TOML files)."""


cli.add_command(run)
cli.add_command(validate)
cli.add_command(render)
cli.add_command(runs)
cli.add_command(serve)
cli.add_command(schedules)
cli.add_command(watchdog)
cli.add_command(worker)
cli.add_command(workers)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``pipelines`` console script and ``python -m pipelines``."""
    cli.main(args=argv)
