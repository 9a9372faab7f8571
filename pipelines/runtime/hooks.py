"""Hooks at run time: around every call of a node, and around the run.

A node's call, with hooks, is::

    before(item)
    result = around(call, item)      # or: result = call(item)
    after(item, result)              # on success
    on_error(item, error)            # on failure, then the node's on_error policy

where ``call`` is the node's function with its ``retries`` and ``timeout``
(so ``around`` sees the final result or the final failure, and a retry does
not run the hooks again; ``timeout`` applies to each attempt inside
``call``). Hooks may be sync or async; sync ones run on the event loop, so
keep them quick. A hook that raises makes that item fail. A node without
hooks keeps its plain ``invoke``: nothing is added per item.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import PipelineError
from .calls import make_invoke
from .policy import Failure, with_policy
from .signals import is_failure

if TYPE_CHECKING:
    from ..spec.model import NodeHooks, RunHooks
    from .node import Node

__all__ = ["call_hook", "node_invoke", "run_hook", "with_hooks"]

log = logging.getLogger("pipelines")


async def call_hook(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a sync or async hook and return its value."""
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    return value


def node_invoke(node: Node, many: bool) -> Callable[[Any], Any]:
    """The node's ``invoke``: its calling convention, then retries and timeout, then hooks."""
    invoke = with_policy(make_invoke(node, many), node.spec.options, node.stats)
    return with_hooks(invoke, node.spec.hooks)


def with_hooks(invoke: Callable[[Any], Any], hooks: NodeHooks | None) -> Callable[[Any], Any]:
    """Wrap ``invoke`` with the node's hooks (``invoke`` itself when it has none)."""
    if hooks is None:
        return invoke
    before, after, around, on_error = hooks.before, hooks.after, hooks.around, hooks.on_error

    async def hooked(item: Any) -> Any:
        try:
            if before is not None:
                await call_hook(before, item)
            if around is not None:
                result = await call_hook(around, invoke, item)
            else:
                result = await invoke(item)
            if after is not None:
                await call_hook(after, item, result)
        except BaseException as exc:
            if on_error is not None and is_failure(exc):
                error = exc.error if isinstance(exc, Failure) else exc
                await call_hook(on_error, item, error)
            raise
        return result

    return hooked


async def run_hook(hooks: RunHooks | None, name: str, *args: Any) -> None:
    """Call the run hook ``name`` if the spec has it; its failure fails the run.

    ``on_error`` is called while the run is already failing: its own failure
    is logged and does not replace the run's error.
    """
    fn = getattr(hooks, name) if hooks is not None else None
    if fn is None:
        return
    try:
        await call_hook(fn, *args)
    except Exception as exc:
        if name == "on_error":
            log.error("pipelines: the run's on_error hook failed (%s: %s)", type(exc).__name__, exc)
            return
        raise PipelineError(f"hooks.{name}", None, exc) from exc
