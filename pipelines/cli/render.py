"""``pipelines render``: draw a spec file's graph (Graphviz image, DOT or Mermaid)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import diagram as drawing
from .loading import SPEC_ARG, load
from .output import EXIT_FAILED, fail

__all__ = ["render"]


@click.command(
    epilog="""\b
Examples:
  pipelines render graph.yaml -o graph.svg
  pipelines render graph.yaml -o graph.png
  pipelines render graph.yaml -o graph.mmd          # Mermaid, no Graphviz needed
  pipelines render graph.yaml -o - --format mermaid
  pipelines render graph.yaml -o - | dot -Tpdf > graph.pdf

svg, png and pdf need Graphviz's dot program; dot and mermaid are text.""",
)
@SPEC_ARG
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
    plumber = load(spec)
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
        fail(str(exc), EXIT_FAILED)
    click.echo(f"wrote {written} ({fmt})")
