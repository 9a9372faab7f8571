"""Calling a node's function on one batch, with the engine's own rules.

The function is called through :func:`~pipelines.runtime.calls.make_invoke`
(the calling conventions: upstream ``self`` style, plain style, generators,
plain ``def`` in the executor), wrapped by
:func:`~pipelines.runtime.policy.with_policy` (``retries``, ``timeout``), and
a failed item goes through :func:`~pipelines.runtime.policy.handle_failure`
(``on_error``: raise a ``PipelineError``, skip, or a ``DeadLetter`` to the
dead-letter node), exactly as in one process. ``concurrency: N`` runs N
calls of the batch at once (N tasks per batch, never one per item); results
keep the batch's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ...spec.calling import Shape
from ..calls import make_invoke
from ..node import Node
from ..policy import DeadLetter, handle_failure, with_policy
from .context import clear_current, set_current
from .seqs import Seq, Seqs

__all__ = ["BatchCaller", "Outcome"]

_MISSING: Any = object()


class Outcome:
    """What a batch gave: the values to hand on, their numbers, the dead letters."""

    __slots__ = ("dead", "in_flight", "sources", "value_seqs", "values")

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.value_seqs: Seqs = Seqs()
        #: input index of each value (None: value i comes from item i)
        self.sources: list[int] | None = None
        self.dead: list[tuple[Seq, DeadLetter]] = []
        self.in_flight = 0


class BatchCaller:
    """Calls one node's function over batches (one per worker and node of a run)."""

    def __init__(self, node: Node, run_id: str) -> None:
        spec = node.spec
        self.node = node
        self.run_id = run_id
        self.many = spec.signature.shape in (Shape.ASYNC_GEN, Shape.SYNC_GEN)
        self.invoke: Callable[[Any], Any] = with_policy(
            make_invoke(node, self.many), spec.options, node.stats
        )
        self.concurrency = spec.options.concurrency

    async def call(self, items: list[Any], seqs: Seqs) -> Outcome:
        """Call the function on every item; failures are handled per ``on_error``.

        Raises :class:`~pipelines.PipelineError` for a failure with
        ``on_error: raise`` (after the other calls of the batch ended).
        """
        if self.concurrency > 1 and len(items) > 1:
            results, failures = await self._concurrently(items, seqs)
        else:
            results, failures = await self._serially(items, seqs)
        out = Outcome()
        out.in_flight = min(self.concurrency, len(items))
        for i, exc in failures.items():
            await self.fail(out, items[i], seqs[i], exc)
        if self.many:
            sources: list[int] = []
            numbers: list[Seq] = []
            for i, values in enumerate(results):
                if values is _MISSING:
                    continue
                seq = seqs[i]
                for j, value in enumerate(values):
                    out.values.append(value)
                    numbers.append((*seq, j))
                    sources.append(i)
            out.sources = sources
            out.value_seqs = Seqs.of(numbers)
        elif failures:
            kept = [i for i in range(len(items)) if i not in failures]
            out.values = [results[i] for i in kept]
            out.sources = kept
            out.value_seqs = seqs.select(kept)
        else:
            out.values = results
            out.value_seqs = seqs
        return out

    async def fail(self, out: Outcome, item: Any, seq: Seq, exc: BaseException) -> None:
        """Apply ``on_error`` to one failed item; a dead letter joins ``out.dead``."""
        node = self.node
        await handle_failure(node, item, exc)
        dead = node.dead_letter
        if dead is not None:
            while dead.buf:
                out.dead.append((seq, dead.buf.popleft()))

    async def _serially(
        self, items: list[Any], seqs: Seqs
    ) -> tuple[list[Any], dict[int, BaseException]]:
        invoke = self.invoke
        run = self.run_id
        results: list[Any] = []
        append = results.append
        failures: dict[int, BaseException] = {}
        try:
            for i, item in enumerate(items):
                set_current(run, seqs, i)
                try:
                    append(await invoke(item))
                except Exception as exc:
                    failures[i] = exc
                    append(_MISSING)
        finally:
            clear_current()
        return results, failures

    async def _concurrently(
        self, items: list[Any], seqs: Seqs
    ) -> tuple[list[Any], dict[int, BaseException]]:
        invoke = self.invoke
        run = self.run_id
        results: list[Any] = [_MISSING] * len(items)
        failures: dict[int, BaseException] = {}
        cursor = iter(range(len(items)))

        async def work() -> None:
            for i in cursor:  # shared: each worker takes the next index
                set_current(run, seqs, i)
                try:
                    results[i] = await invoke(items[i])
                except Exception as exc:
                    failures[i] = exc

        async with asyncio.TaskGroup() as tg:
            for _ in range(min(self.concurrency, len(items))):
                tg.create_task(work())
        return results, dict(sorted(failures.items()))
