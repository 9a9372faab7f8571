"""Loading a spec file for a command: ``--set`` overrides applied, problems printed."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import SpecError
from ..runtime.plumber import Plumber
from ..spec.loader import load_file
from ..spec.overrides import OverrideError, apply_overrides
from .output import spec_failure

__all__ = ["SPEC_ARG", "load"]

#: The SPEC argument of the commands that read one spec file.
SPEC_ARG = click.argument("spec", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC")


def load(path: Path, sets: tuple[str, ...] = ()) -> Plumber:
    """Build a Plumber from a spec file, with ``--set`` overrides applied.

    A bad override is a usage error (``click.BadParameter``); an invalid spec
    prints every problem and exits 2.
    """
    try:
        if not sets:
            return Plumber.from_file(path)
        try:
            data = apply_overrides(load_file(path), sets)
        except OverrideError as exc:
            raise click.BadParameter(str(exc), param_hint="'--set'") from None
        return Plumber(data, base_dir=path.resolve().parent, source=str(path))
    except SpecError as exc:
        spec_failure(exc)
