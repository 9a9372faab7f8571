"""``pipelines runs diagram ID -o FILE``: draw a recorded run's graph with its figures."""

from __future__ import annotations

from pathlib import Path

import click

from .. import diagram as drawing
from ..store.graph import rebuild, result_of
from .output import EXIT_FAILED, fail
from .reading import read_run
from .recording import STORE_OPTION

__all__ = ["diagram"]


@click.command(
    epilog="""\b
Examples:
  pipelines runs diagram 3f2a9c1b0d4e -o run.svg
  pipelines runs diagram 3f2a -o run.mmd          # Mermaid, no Graphviz needed

The diagram is drawn from what the store recorded (the graph and the run's
latest figures), as `pipelines run --diagram` draws it; the run's functions
are not imported.""",
)
@click.argument("run_id", metavar="ID")
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write the diagram.")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice([*drawing.FORMATS, "gv", "mmd"], case_sensitive=False),
    help="Output format; by default it follows FILE's suffix (.svg .png .pdf .dot/.gv .mmd).",
)
@STORE_OPTION
def diagram(run_id: str, output: str, fmt: str | None, store_path: Path | None) -> None:
    """Draw a recorded run's graph annotated with its figures (svg, png, pdf, dot, mermaid)."""
    try:
        fmt = drawing.format_for(output, fmt)
    except drawing.DiagramError as exc:
        raise click.BadParameter(str(exc), param_hint="'--output'") from None
    record = read_run(run_id, store_path)
    if record.graph is None:
        fail(f"run {record.id} has no recorded graph (it was too large to draw)", EXIT_FAILED)
    plan = rebuild(record.graph)
    try:
        written = drawing.render(plan, output, fmt, result_of(record, plan))
    except drawing.DiagramError as exc:
        fail(str(exc), EXIT_FAILED)
    click.echo(f"wrote {written} ({fmt})")
