"""``pipelines.run``: the blocking convenience for scripts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .plumber import Plumber
from .stats import RunResult

__all__ = ["run"]


def run(
    spec_or_path: dict[str, Any] | str | Path,
    coro_map: Callable[[Any], Any] | None = None,
    env_vars: dict[str, Any] | None = None,
) -> RunResult:
    """Validate and run a graph (a spec dict or a spec file path) to completion.

    Blocks until the run ends and returns its :class:`RunResult`. Must not be
    called from a running event loop (``await Plumber(...).run()`` there).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # no loop running: the expected case
    else:
        raise RuntimeError(
            "pipelines.run() blocks until the graph ends, so it cannot be called from a "
            "running event loop; use `await Plumber(spec).run()` there"
        )
    if isinstance(spec_or_path, str | Path):
        plumber = Plumber.from_file(spec_or_path, coro_map, env_vars)
    else:
        plumber = Plumber(spec_or_path, coro_map, env_vars)
    return asyncio.run(plumber.run())
