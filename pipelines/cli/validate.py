"""``pipelines validate``: check spec files without running them."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import SpecError
from ..runtime.plumber import Plumber
from .output import EXIT_USAGE, error

__all__ = ["validate"]


@click.command(
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
            error(str(exc))
            continue
        click.echo(f"{path}: ok: {plumber.plan.summary()}")
    if invalid:
        raise SystemExit(EXIT_USAGE)
