"""Loading a spec file for a command: ``--set`` and ``--redis`` applied, problems printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import SpecError
from ..runtime.plumber import Plumber
from ..spec.loader import load_file
from ..spec.overrides import OverrideError, apply_overrides
from .output import spec_failure

__all__ = ["REDIS_OPTION", "SPEC_ARG", "load", "load_spec"]

#: The SPEC argument of the commands that read one spec file.
SPEC_ARG = click.argument("spec", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC")


#: ``--redis URL``: run the spec's links on Redis Streams (docs/distributed.md).
REDIS_OPTION = click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    help="Run with the links on Redis Streams (redis://HOST:PORT/DB), the nodes on the "
    "workers of SPEC (overrides the spec's transport.redis).",
)


def load(
    path: Path, sets: tuple[str, ...] = (), redis: str | None = None, **options: Any
) -> Plumber:
    """Build a Plumber from a spec file, with ``--set`` overrides and ``--redis`` applied.

    A bad override is a usage error (``click.BadParameter``); an invalid spec
    prints every problem and exits 2. ``options`` go to the Plumber.
    """
    return load_spec(path, sets, redis, **options)[1]


def load_spec(
    path: Path, sets: tuple[str, ...] = (), redis: str | None = None, **options: Any
) -> tuple[dict[str, Any], Plumber]:
    """The spec as loaded (overrides applied) and its Plumber; errors as :func:`load`."""
    try:
        data = load_file(path)
        if sets:
            try:
                data = apply_overrides(data, sets)
            except OverrideError as exc:
                raise click.BadParameter(str(exc), param_hint="'--set'") from None
        if redis is not None:
            transport = data.get("transport")
            transport = dict(transport) if isinstance(transport, dict) else {}
            data = {**data, "transport": {**transport, "redis": redis}}
        plumber = Plumber(data, base_dir=path.resolve().parent, source=str(path), **options)
    except SpecError as exc:
        spec_failure(exc)
    return data, plumber
