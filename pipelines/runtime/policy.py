"""What happens around a call: retries and timeout, and the error policy after them.

:func:`with_policy` wraps a node's ``invoke`` with its ``retries``
(``retry_delay`` times ``backoff`` to the power of the attempt) and
``timeout``; a node without either keeps its bare ``invoke``. Once a call
has failed for good, :func:`handle_failure` applies ``on_error``: raise a
:class:`~pipelines.PipelineError`, skip (count and log), or send a
:class:`DeadLetter` to the dead-letter node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PipelineError, short_repr
from .signals import is_failure

if TYPE_CHECKING:
    from ..spec.options import NodeOptions
    from .node import Node
    from .stats import NodeStats

__all__ = ["NO_ITEM", "DeadLetter", "Failure", "handle_failure", "with_policy"]

log = logging.getLogger("pipelines")

#: Stands for the item of a failed source: there is none to report.
NO_ITEM: Any = object()


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What a dead-letter node receives for each failed item.

    ``node`` is the node that failed, ``item`` the item it was given (``None``
    for a source), ``error`` the exception and ``attempts`` the calls made.
    """

    node: str
    item: Any
    error: BaseException
    attempts: int


class Failure(Exception):
    """A call failed after its retries; carries the attempts count."""

    def __init__(self, error: BaseException, attempts: int) -> None:
        super().__init__(error)
        self.error = error
        self.attempts = attempts


def with_policy(
    invoke: Callable[[Any], Any],
    options: NodeOptions,
    stats: NodeStats,
    gate: Callable[[], Awaitable[None]] | None = None,
) -> Callable[[Any], Any]:
    """Wrap ``invoke`` with the node's retries and timeout, if any.

    Each attempt has its own ``timeout``; the pause before attempt ``k + 1``
    is ``retry_delay * backoff ** (k - 1)``. A failure after the last attempt
    is raised as :class:`Failure`. ``gate`` (a ``rate``'s token bucket) is
    awaited before every attempt, outside its timeout: waiting for a turn is
    not part of the call.
    """
    retries, timeout = options.retries, options.timeout
    if not retries and timeout is None:
        if gate is None:
            return invoke

        async def invoke_gated(item: Any) -> Any:
            await gate()
            return await invoke(item)

        return invoke_gated
    delay, backoff = options.retry_delay, options.backoff

    async def invoke_with_policy(item: Any) -> Any:
        attempt = 1
        while True:
            if gate is not None:
                await gate()
            try:
                if timeout is None:
                    return await invoke(item)
                async with asyncio.timeout(timeout):
                    return await invoke(item)
            except BaseException as exc:
                if not is_failure(exc):
                    raise
                if attempt > retries:
                    raise Failure(exc, attempt) from exc
                stats.retried += 1
                pause = delay * backoff ** (attempt - 1)
                attempt += 1
                if pause:
                    await asyncio.sleep(pause)

    return invoke_with_policy


async def handle_failure(node: Node, item: Any, exc: BaseException) -> None:
    """Handle a failed call per ``on_error``: raise, skip or dead-letter."""
    attempts = 1
    if isinstance(exc, Failure):
        attempts = exc.attempts
        exc = exc.error
    node.stats.failed += 1
    on_error = node.spec.options.on_error
    if item is NO_ITEM:
        item, shown = None, None
    else:
        shown = short_repr(item)
    if node.events:
        node.events.emit(
            "node_failed", node.name, error=exc, item=shown, attempts=attempts, action=on_error
        )
    if on_error == "raise":
        raise PipelineError(node.name, shown, exc, attempts) from exc
    log.warning(
        "pipelines: node %r failed%s (%s: %s); %s",
        node.name,
        f" on item {shown}" if shown is not None else "",
        type(exc).__name__,
        exc,
        "skipped" if on_error == "skip" else f"sent to {on_error!r}",
    )
    if node.dead_letter is not None:
        await node.dead_letter.put(DeadLetter(node.name, item, exc, attempts))
