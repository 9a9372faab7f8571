"""Run resources: context managers entered before any node starts and exited after the last.

Each factory (``resources:`` in a spec) is called with no arguments; what it
returns is entered as an async context manager if it is one, else as a sync
one. They are entered in the spec's order and exited in reverse, by one
``AsyncExitStack``: on success, failure, stop and cancellation alike, and
the ones already entered are exited when a later one fails to enter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ..errors import PipelineError

__all__ = ["ResourceError", "open_resources"]


class ResourceError(PipelineError):
    """A run resource could not be opened; ``node`` is ``resources.NAME``."""


async def open_resources(
    stack: contextlib.AsyncExitStack, factories: Mapping[str, Any]
) -> dict[str, Any]:
    """Enter every resource on ``stack``; return name -> the value each context manager gave."""
    opened: dict[str, Any] = {}
    for name, factory in factories.items():
        where = f"resources.{name}"
        try:
            manager = factory()
        except Exception as exc:
            raise ResourceError(where, None, exc) from exc
        try:
            if hasattr(manager, "__aenter__") and hasattr(manager, "__aexit__"):
                opened[name] = await stack.enter_async_context(manager)
            elif hasattr(manager, "__enter__") and hasattr(manager, "__exit__"):
                opened[name] = stack.enter_context(manager)
            else:
                raise TypeError(
                    f"the factory returned {type(manager).__name__}, not a context manager "
                    "(use @contextlib.asynccontextmanager or return an object with "
                    "__aenter__/__aexit__ or __enter__/__exit__)"
                )
        except Exception as exc:
            raise ResourceError(where, None, exc) from exc
    return opened
